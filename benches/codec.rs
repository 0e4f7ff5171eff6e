//! Placeholder until the codec comparison lands.
fn main() {}
