//! Placeholder: the IssuerKeys / RemoteJwks bench is not written yet.

fn main() {}
