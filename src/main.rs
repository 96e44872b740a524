//! `kubectl-distroless_debug`: parse, run, map to an exit code. See the library for the flow.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use distroless_debug::{Cli, Environment, Error, IMAGE_ENV, Options, Printer};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version, on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let printer = Printer::new(false);
            return fail(&printer, &Error::Usage(clap_message(&e)));
        }
    };
    if cli.targets.first().map(String::as_str) == Some("completion") {
        return completion(&cli);
    }
    let env = Environment {
        image: std::env::var(IMAGE_ENV).ok(),
        stdin_is_terminal: std::io::stdin().is_terminal(),
        stdout_is_terminal: std::io::stdout().is_terminal(),
    };
    let quiet = cli.quiet;
    let printer = Printer::new(quiet);
    let options = match Options::from_cli(cli, &env) {
        Ok(o) => o,
        Err(e) => return fail(&printer, &e),
    };
    init_tracing(options.verbosity);

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(source) => {
            return fail(
                &printer,
                &Error::Io {
                    context: "cannot start the async runtime",
                    source,
                },
            );
        }
    };
    let result = runtime.block_on(distroless_debug::run(options, &printer));
    // Don't wait for blocked stdio work: the session is over.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&printer, &e),
    }
}

/// `completion SHELL`: the script on stdout (a first TARGET of `completion`; a pod of that
/// name is `pod/completion`).
fn completion(cli: &Cli) -> ExitCode {
    let printer = Printer::new(cli.quiet);
    let shell = match cli.targets.as_slice() {
        [_, shell] if cli.command.is_empty() => shell.as_str(),
        _ => {
            return fail(
                &printer,
                &Error::Usage("completion takes one SHELL: bash, zsh, fish or powershell".into()),
            );
        }
    };
    match distroless_debug::completion_script(shell) {
        Ok(script) => {
            printer.data(&script);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&printer, &Error::Usage(e)),
    }
}

/// clap's account of a usage error, without its `error:` prefix and its pointer to `--help`:
/// the printer writes both, as for every other usage error.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let text = text
        .trim_end()
        .strip_suffix("For more information, try '--help'.")
        .unwrap_or(text);
    text.trim_end().to_owned()
}

fn fail(printer: &Printer, err: &Error) -> ExitCode {
    printer.error(err);
    ExitCode::from(err.exit_code())
}

/// `-v N` as kubectl counts it: 0 nothing, 1-3 info, 4-5 debug, 6+ trace. Logs never include
/// tokens, keys or certificates: kube logs URLs, not headers, and we log no config secrets.
fn init_tracing(verbosity: u8) {
    let level = match verbosity {
        0 => return,
        1..=3 => tracing::Level::INFO,
        4 | 5 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(true)
        .try_init();
}
