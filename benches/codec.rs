//! Placeholder: the codec benchmark lands with the criterion comparison.
fn main() {}
