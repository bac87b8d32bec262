//! What a membership report gives of each attack's scores, computed in one call: the ROC,
//! the TPR at the report's FPR with its Clopper-Pearson interval and the empirical epsilon
//! of that point, the same ROC over the records of each class, and the most exposed
//! members.
//!
//! Attacks (and, within one, classes) run in parallel; each result depends only on its
//! scores, so the output is the same whatever the thread count.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::bounds::{clopper_pearson, epsilon_lower_bound};
use super::roc::{roc, Roc};
use super::signals::{signals, Signals};
use crate::core::{CoreError, CoreResult};

/// The reading of every attack.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The FPR the headline TPR is read at, in `[0, 1]`.
    pub at_fpr: f64,
    /// Of the TPR interval and the epsilon bound, in `(0, 1)`.
    pub confidence: f64,
    /// Of the epsilon bound, in `[0, 1)`.
    pub delta: f64,
    /// How many members to list as the most exposed.
    pub exposed: usize,
}

/// One class's records: its ROC read at the report's FPR.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassResult {
    pub label: i64,
    pub n_members: u64,
    pub n_nonmembers: u64,
    pub auc: f64,
    pub tpr: f64,
}

#[derive(Debug, Clone)]
pub struct AttackSummary {
    pub roc: Roc,
    /// `roc.tpr_at(at_fpr)` with the counts of that point.
    pub tpr: f64,
    pub tp: u64,
    pub fp: u64,
    /// Clopper-Pearson interval of `tp` of the members.
    pub tpr_interval: (f64, f64),
    /// The empirical epsilon the point `(tp, fp)` proves.
    pub epsilon: f64,
    /// Classes (ascending) that have both members and non-members; empty without labels.
    pub per_class: Vec<ClassResult>,
    /// Positions of the members with the highest scores, highest first (ties: the lower
    /// position first).
    pub exposed: Vec<usize>,
}

fn check_settings(s: &Settings) -> CoreResult<()> {
    if !(0.0..=1.0).contains(&s.at_fpr) {
        return Err(CoreError::invalid(format!(
            "at_fpr: expected a number in [0, 1], got {}",
            s.at_fpr
        )));
    }
    if !(s.confidence > 0.0 && s.confidence < 1.0) {
        return Err(CoreError::invalid(format!(
            "confidence: expected a number strictly between 0 and 1, got {}",
            s.confidence
        )));
    }
    if !(0.0..1.0).contains(&s.delta) {
        return Err(CoreError::invalid(format!(
            "delta: expected a number in [0, 1), got {}",
            s.delta
        )));
    }
    Ok(())
}

/// The positions of each class's records, classes ascending.
fn class_groups(labels: &[i64]) -> Vec<(i64, Vec<usize>)> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| labels[i]); // stable: positions ascending within a class
    let mut groups: Vec<(i64, Vec<usize>)> = Vec::new();
    for i in order {
        match groups.last_mut() {
            Some((c, idx)) if *c == labels[i] => idx.push(i),
            _ => groups.push((labels[i], vec![i])),
        }
    }
    groups
}

/// The `count` members with the highest scores (no NaN: `roc` refused them).
fn most_exposed(scores: &[f64], is_member: &[bool], count: usize) -> Vec<usize> {
    let mut members: Vec<usize> = (0..scores.len()).filter(|&i| is_member[i]).collect();
    // Descending score, then ascending position; -0.0 and 0.0 tie.
    let cmp = |&a: &usize, &b: &usize| {
        scores[b]
            .partial_cmp(&scores[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    };
    if count == 0 {
        return Vec::new();
    }
    if count < members.len() {
        members.select_nth_unstable_by(count - 1, cmp);
        members.truncate(count);
    }
    members.sort_unstable_by(cmp);
    members
}

fn summarize_with(
    scores: &[f64],
    is_member: &[bool],
    groups: Option<&[(i64, Vec<usize>)]>,
    s: &Settings,
) -> CoreResult<AttackSummary> {
    let r = roc(scores, is_member)?;
    let (tpr, tp, fp) = r.tpr_at(s.at_fpr);
    let tpr_interval = clopper_pearson(tp, r.n_members, s.confidence)?;
    let epsilon = epsilon_lower_bound(tp, fp, r.n_members, r.n_nonmembers, s.delta, s.confidence)?;
    let per_class = match groups {
        None => Vec::new(),
        Some(groups) => groups
            .par_iter()
            .filter_map(|(label, idx)| {
                let m: Vec<bool> = idx.iter().map(|&i| is_member[i]).collect();
                if m.iter().all(|&v| v) || !m.iter().any(|&v| v) {
                    return None;
                }
                let sc: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
                Some(roc(&sc, &m).map(|c| ClassResult {
                    label: *label,
                    n_members: c.n_members,
                    n_nonmembers: c.n_nonmembers,
                    auc: c.auc,
                    tpr: c.tpr_at(s.at_fpr).0,
                }))
            })
            .collect::<CoreResult<Vec<_>>>()?,
    };
    Ok(AttackSummary {
        exposed: most_exposed(scores, is_member, s.exposed),
        roc: r,
        tpr,
        tp,
        fp,
        tpr_interval,
        epsilon,
        per_class,
    })
}

/// The summary of one attack's `scores` (higher = more likely a member) against the truth
/// `is_member`, with per-class results when `labels` are given.
pub fn summarize(
    scores: &[f64],
    is_member: &[bool],
    labels: Option<&[i64]>,
    s: &Settings,
) -> CoreResult<AttackSummary> {
    Ok(summarize_all(
        ArrayView2::from_shape((1, scores.len()), scores)
            .map_err(|e| CoreError::invalid(format!("scores: {e}")))?,
        is_member,
        labels,
        s,
    )?
    .remove(0))
}

/// The summaries of several attacks, one per row of `scores` (attacks, records), in
/// parallel; `is_member` and `labels` are per record.
pub fn summarize_all(
    scores: ArrayView2<'_, f64>,
    is_member: &[bool],
    labels: Option<&[i64]>,
    s: &Settings,
) -> CoreResult<Vec<AttackSummary>> {
    check_settings(s)?;
    let (k, n) = scores.dim();
    if k == 0 {
        return Err(CoreError::invalid("scores: no attack".to_string()));
    }
    if is_member.len() != n {
        return Err(CoreError::invalid(format!(
            "scores has {n} values per attack but is_member has {}",
            is_member.len()
        )));
    }
    if let Some(l) = labels {
        if l.len() != n {
            return Err(CoreError::invalid(format!(
                "labels: {} labels for {n} records",
                l.len()
            )));
        }
    }
    let groups = labels.map(class_groups);
    (0..k)
        .into_par_iter()
        .map(|a| {
            let row = scores.row(a);
            let owned;
            let sc = match row.as_slice() {
                Some(sl) => sl,
                None => {
                    owned = row.to_vec();
                    &owned[..]
                }
            };
            summarize_with(sc, is_member, groups.as_deref(), s)
        })
        .collect()
}

/// The attacks that score records by one of the target's [`Signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalAttack {
    Loss,
    Confidence,
    Entropy,
    ModifiedEntropy,
}

impl SignalAttack {
    /// The attack of a name (`loss`, `confidence`, `entropy`, `modified_entropy`).
    pub fn from_name(name: &str) -> CoreResult<Self> {
        match name {
            "loss" => Ok(Self::Loss),
            "confidence" => Ok(Self::Confidence),
            "entropy" => Ok(Self::Entropy),
            "modified_entropy" => Ok(Self::ModifiedEntropy),
            other => Err(CoreError::invalid(format!(
                "attacks: {other:?} is not a signal attack (loss, confidence, entropy, \
                 modified_entropy)"
            ))),
        }
    }

    fn scores(self, s: &Signals) -> &[f64] {
        match self {
            Self::Loss => &s.loss,
            Self::Confidence => &s.confidence,
            Self::Entropy => &s.entropy,
            Self::ModifiedEntropy => &s.modified_entropy,
        }
    }
}

/// The target's signals of `probs` (records, classes) for the true classes `labels`, and
/// the summary of each of `attacks` on them, per-class results by `labels`: the whole of
/// the threshold attacks in one call.
pub fn summarize_signals(
    probs: ArrayView2<'_, f64>,
    labels: &[i64],
    attacks: &[SignalAttack],
    is_member: &[bool],
    s: &Settings,
) -> CoreResult<(Signals, Vec<AttackSummary>)> {
    check_settings(s)?;
    let sig = signals(probs, labels)?;
    if attacks.is_empty() {
        return Ok((sig, Vec::new()));
    }
    let n = labels.len();
    let mut scores = ndarray::Array2::<f64>::zeros((attacks.len(), n));
    for (mut row, a) in scores.outer_iter_mut().zip(attacks) {
        row.assign(&ndarray::ArrayView1::from(a.scores(&sig)));
    }
    let summaries = summarize_all(scores.view(), is_member, Some(labels), s)?;
    Ok((sig, summaries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    const S: Settings = Settings {
        at_fpr: 0.25,
        confidence: 0.95,
        delta: 1e-5,
        exposed: 2,
    };

    #[test]
    fn one_attack_matches_its_parts() {
        let scores = [0.9, 0.1, 0.8, 0.4, 0.7, 0.3, 0.6, 0.95];
        let member = [true, false, true, false, true, false, false, true];
        let labels = [0, 0, 1, 1, 0, 1, 1, 0];
        let got = summarize(&scores, &member, Some(&labels), &S).unwrap();
        let r = roc(&scores, &member).unwrap();
        assert_eq!(got.roc.tp, r.tp);
        assert_eq!(got.roc.fp, r.fp);
        assert_eq!(got.roc.auc, r.auc);
        let (tpr, tp, fp) = r.tpr_at(0.25);
        assert_eq!((got.tpr, got.tp, got.fp), (tpr, tp, fp));
        assert_eq!(got.tpr_interval, clopper_pearson(tp, 4, 0.95).unwrap());
        assert_eq!(
            got.epsilon,
            epsilon_lower_bound(tp, fp, 4, 4, 1e-5, 0.95).unwrap()
        );
        // Class 0: records 0, 1, 4, 7 (members 0, 4, 7); class 1: 2, 3, 5, 6 (member 2).
        let c0 = roc(&[0.9, 0.1, 0.7, 0.95], &[true, false, true, true]).unwrap();
        let c1 = roc(&[0.8, 0.4, 0.3, 0.6], &[true, false, false, false]).unwrap();
        assert_eq!(
            got.per_class,
            vec![
                ClassResult {
                    label: 0,
                    n_members: 3,
                    n_nonmembers: 1,
                    auc: c0.auc,
                    tpr: c0.tpr_at(0.25).0
                },
                ClassResult {
                    label: 1,
                    n_members: 1,
                    n_nonmembers: 3,
                    auc: c1.auc,
                    tpr: c1.tpr_at(0.25).0
                },
            ]
        );
        assert_eq!(got.exposed, vec![7, 0]);
    }

    #[test]
    fn classes_without_both_sides_are_left_out_and_ties_keep_positions() {
        let scores = [1.0, 1.0, 0.0, 1.0, -0.0, 2.0];
        let member = [true, true, false, true, true, false];
        let labels = [5, 5, 5, 5, -1, -1];
        let s = Settings { exposed: 10, ..S };
        let got = summarize(&scores, &member, Some(&labels), &s).unwrap();
        assert_eq!(got.per_class.len(), 2);
        assert_eq!(got.per_class[0].label, -1);
        assert_eq!(got.per_class[1].label, 5);
        assert_eq!(got.exposed, vec![0, 1, 3, 4]);
        let only = [true, true, false, true, true, true];
        let got = summarize(&scores, &only, Some(&[1, 1, 0, 1, 1, 1]), &s).unwrap();
        assert!(got.per_class.is_empty());
        let got = summarize(&scores, &member, None, &Settings { exposed: 0, ..S }).unwrap();
        assert!(got.per_class.is_empty() && got.exposed.is_empty());
    }

    #[test]
    fn several_attacks_are_each_their_own_summary() {
        let n = 500;
        let member: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let labels: Vec<i64> = (0..n).map(|i| (i % 7) as i64).collect();
        let mut scores = Array2::<f64>::zeros((3, n));
        for i in 0..n {
            let x = ((i * 7919) % 1009) as f64 / 1009.0;
            scores[[0, i]] = x + if member[i] { 0.3 } else { 0.0 };
            scores[[1, i]] = -x;
            scores[[2, i]] = (x * 10.0).floor(); // many ties
        }
        let all = summarize_all(scores.view(), &member, Some(&labels), &S).unwrap();
        for (a, got) in all.iter().enumerate() {
            let row = scores.row(a).to_vec();
            let one = summarize(&row, &member, Some(&labels), &S).unwrap();
            assert_eq!(got.roc.tp, one.roc.tp);
            assert_eq!(got.per_class, one.per_class);
            assert_eq!(got.exposed, one.exposed);
            assert_eq!(got.epsilon, one.epsilon);
            // The exposed members are the top of a stable descending sort.
            let mut idx: Vec<usize> = (0..n).filter(|&i| member[i]).collect();
            idx.sort_by(|&x, &y| row[y].partial_cmp(&row[x]).unwrap());
            assert_eq!(got.exposed, idx[..2].to_vec());
        }
        // A column-major (non-contiguous rows) view gives the same.
        let t = scores.t().to_owned();
        let all_t = summarize_all(t.t(), &member, Some(&labels), &S).unwrap();
        assert_eq!(all_t[2].roc.tp, all[2].roc.tp);
    }

    #[test]
    fn signal_attacks_are_summarised_as_their_signals() {
        let probs = ndarray::array![
            [0.9, 0.1],
            [0.2, 0.8],
            [0.6, 0.4],
            [0.3, 0.7],
            [0.99, 0.01],
            [0.45, 0.55]
        ];
        let labels = [0, 1, 0, 0, 1, 1];
        let member = [true, true, true, false, false, false];
        let attacks = [SignalAttack::Loss, SignalAttack::ModifiedEntropy];
        let (sig, got) = summarize_signals(probs.view(), &labels, &attacks, &member, &S).unwrap();
        let direct = signals(probs.view(), &labels).unwrap();
        assert_eq!(sig.loss, direct.loss);
        for (a, summary) in attacks.iter().zip(&got) {
            let one = summarize(a.scores(&direct), &member, Some(&labels), &S).unwrap();
            assert_eq!(summary.roc.tp, one.roc.tp);
            assert_eq!(summary.roc.auc, one.roc.auc);
            assert_eq!(summary.per_class, one.per_class);
            assert_eq!(summary.exposed, one.exposed);
        }
        let (_, none) = summarize_signals(probs.view(), &labels, &[], &member, &S).unwrap();
        assert!(none.is_empty());
        assert!(SignalAttack::from_name("lira").is_err());
        assert_eq!(
            SignalAttack::from_name("entropy").unwrap(),
            SignalAttack::Entropy
        );
        // Not probabilities: refused before any summary.
        let bad = ndarray::array![[0.9, 0.9], [0.5, 0.5]];
        assert!(summarize_signals(bad.view(), &[0, 1], &attacks, &[true, false], &S).is_err());
    }

    #[test]
    fn bad_inputs_are_refused() {
        let member = [true, false];
        let two = [0.5, 0.2];
        assert!(summarize(&two, &[true], None, &S).is_err());
        assert!(summarize(&two, &member, Some(&[0]), &S).is_err());
        assert!(summarize(&[f64::NAN, 0.2], &member, None, &S).is_err());
        assert!(summarize(&two, &[true, true], None, &S).is_err());
        for bad in [
            Settings { at_fpr: 1.5, ..S },
            Settings {
                confidence: 1.0,
                ..S
            },
            Settings { delta: 1.0, ..S },
        ] {
            assert!(summarize(&two, &member, None, &bad).is_err());
        }
        let none = Array2::<f64>::zeros((0, 2));
        assert!(summarize_all(none.view(), &member, None, &S).is_err());
    }
}
