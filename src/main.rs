//! The `tcpsim` command line.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use tcpsim::cli;

/// Deterministic TCP teardown simulator: who sends RST, and which bytes are lost.
#[derive(Parser, Debug)]
#[command(
    name = "tcpsim",
    version,
    after_help = "Examples:\n  tcpsim run scenarios/rsync-cygwin-exit.toml\n  tcpsim run scenarios/close-with-unread.toml --server freebsd\n  tcpsim test scenarios/"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario: ladder diagram, verdict, expectations (exit 1 if they fail).
    Run(cli::run::Args),
    /// Run every scenario with expectations, like a test runner.
    Test(cli::test::Args),
    /// Run a scenario on this host's kernel with real sockets; --compare checks it against the simulator.
    Real(cli::real::Args),
    /// Run one scenario under every pair of personalities: a matrix of outcomes.
    Compare(cli::compare::Args),
    /// List the stack personalities; show one's knobs; diff two.
    Personalities(cli::personalities::Args),
    /// Search for close sequences that break a property; shrink to a minimal scenario file.
    Fuzz(cli::fuzz::Args),
    /// Every way a close can go on from a scenario's `explore` mark, within bounds: classes of ends, shortest witnesses.
    Explore(cli::explore::Args),
    /// List the calls a scenario step can make (socket, listen, write, close, linger, …).
    Calls(cli::calls::Args),
    /// The JSON Schema of each JSON document the commands write.
    Schema(cli::schema::Args),
    /// Run a packetdrill script against a personality: pass, the first mismatch in packetdrill's words, or unsupported.
    Packetdrill(cli::packetdrill::Args),
    /// The teardown atlas: every state × teardown call × data condition, per personality.
    Atlas(cli::atlas::Args),
}

fn main() -> ExitCode {
    // Output piped into `head` ends like `cat`'s: the process is killed by
    // SIGPIPE at the first write after the reader left (a shell shows exit
    // status 141), silently. Rust ignores SIGPIPE by default, which turns each
    // such write into an error and every `println!` into a panic. One call
    // here serves every command (worker processes of `tcpsim real` ignore it
    // again, to see a peer's close as EPIPE).
    sigpipe::reset();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                cli::EXIT_INPUT
            } else {
                cli::EXIT_OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match &cli.command {
        Command::Run(a) => cli::run::exec(a),
        Command::Test(a) => cli::test::exec(a),
        Command::Real(a) => cli::real::exec(a),
        Command::Personalities(a) => cli::personalities::exec(a),
        Command::Compare(a) => cli::compare::exec(a),
        Command::Fuzz(a) => cli::fuzz::exec(a),
        Command::Calls(a) => cli::calls::exec(a),
        Command::Explore(a) => cli::explore::exec(a),
        Command::Schema(a) => cli::schema::exec(a),
        Command::Atlas(a) => cli::atlas::exec(a),
        Command::Packetdrill(a) => cli::packetdrill::exec(a),
    }
}
