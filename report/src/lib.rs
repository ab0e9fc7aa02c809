//! pxelab's HTML report: one self-contained page (no network access, works from
//! `file://`) with the suite's summary, each scenario's failures and each drawn boot as
//! an SVG ladder; and the run's results as terminal text, JUnit XML and the `explain`
//! timeline. It draws what the results hold; it never runs anything.

#![forbid(unsafe_code)]

pub mod bench;
pub mod escape;
pub mod explain;
pub mod files;
pub mod junit;
pub mod ladder_svg;
pub mod page;
pub mod summary;
pub mod text;

pub use page::{explain_page, page, read_results, write, PageOptions};
