//! (filled by its issue-17 branch)
