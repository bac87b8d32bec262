//! Data checks before training: schema validation, label issues (confident learning),
//! poisoning scores and train/test leakage.

pub mod labels;
pub mod leakage;
pub mod poisoning;
pub mod schema;
