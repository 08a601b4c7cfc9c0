//! Where rows come from.

pub mod csv;
pub mod replay;
