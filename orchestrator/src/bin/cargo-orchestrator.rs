//! `cargo orchestrator ...`: the same program as `orchestrator`, installed
//! under the name cargo looks for subcommands by (`cli` drops the
//! subcommand's name cargo passes first).

fn main() {
    std::process::exit(orchestrator::cli::main());
}
