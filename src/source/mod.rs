//! Where rows come from.

pub mod csv;
