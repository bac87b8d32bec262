"""Privacy: does the model leak its training set, or can it be copied?

Membership-inference attacks reported as the true-positive rate at a low false-positive
rate with exact intervals, reference-model attacks (LiRA, RMIA) from signals, extraction
risk and the empirical differential-privacy bound a measured attack proves.
"""

__all__: list[str] = []
