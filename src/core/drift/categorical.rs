//! See `super` for what this module holds.
