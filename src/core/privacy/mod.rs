//! Privacy: membership-inference scores and their ROC reported as TPR at low FPR with
//! exact intervals, reference-model attacks (LiRA, RMIA) from precomputed signals,
//! extraction surrogates and empirical differential-privacy bounds.
