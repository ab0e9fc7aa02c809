//! One file per command: its arguments and the short function that runs it, printing
//! what the library crates return. `load` finds and loads scenario files for them;
//! `lab_run` is the terminal side of running scenarios in the lab.

pub mod audit;
pub mod bench;
pub mod calibrate;
pub mod check;
pub mod compare;
pub mod explain;
pub mod firmware;
pub mod lab;
pub mod lab_run;
pub mod load;
pub mod matrix;
pub mod results;
pub mod run;
pub mod serve;
