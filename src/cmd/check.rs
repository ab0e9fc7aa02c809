//! `pxelab check`: every error of every file, located (not only each file's first).

use super::load::scenario_files;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CheckArgs {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn check(paths: &[PathBuf]) -> ExitCode {
    let (files, mut failed) = match scenario_files(paths) {
        Ok(f) => (f, false),
        Err(e) => {
            eprintln!("error: {e}");
            (Vec::new(), true)
        }
    };
    let mut valid = 0;
    for f in &files {
        let errors = pxelab_scenario::check_file(f);
        if errors.is_empty() {
            println!("ok: {}", f.display());
            valid += 1;
        }
        for e in &errors {
            eprintln!("error: {e}");
        }
        failed |= !errors.is_empty();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        println!("{valid} scenario(s) valid");
        ExitCode::SUCCESS
    }
}
