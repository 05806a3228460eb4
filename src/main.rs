use clap::Parser;
use infer_bench::{cli::Cli, commands, error};

fn main() {
    // Die quietly on a closed pipe (`infer-bench plan x.yaml | head`) as
    // other Unix tools do, instead of panicking inside println!.
    // SAFETY: called before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    if let Err(err) = commands::dispatch(cli.command) {
        // A bad-input error is printed as itself (`file:line:col: message`);
        // anything else with its chain of causes.
        match err
            .chain()
            .find_map(|e| e.downcast_ref::<error::InputError>())
        {
            Some(input) => eprintln!("error: {input}"),
            None => eprintln!("error: {err:#}"),
        }
        std::process::exit(error::exit_code(&err));
    }
}
