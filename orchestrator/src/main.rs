fn main() {
    std::process::exit(orchestrator::cli::main());
}
