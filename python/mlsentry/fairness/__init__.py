"""Fairness: does the model treat groups alike?

Group metrics with bootstrap intervals and the disparities fairlearn defines, with a
verdict against chosen bars (the four-fifths rule by default).
"""

__all__: list[str] = []
