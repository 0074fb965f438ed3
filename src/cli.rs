//! The command line (Flask's `flask run` / `flask routes`), with clap.
//!
//! `flaskrs-host APP.rhai` is `flaskrs-host run APP.rhai`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::{App, RouteInfo};

/// flaskrs-host: serve Flask-style web apps written in Rhai.
#[derive(Debug, Parser)]
#[command(name = "flaskrs-host", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve an app (the default: `flaskrs-host APP.rhai`).
    Run(RunArgs),
    /// Show the app's routes, as `flask routes` does.
    Routes(RoutesArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The app's script.
    app: PathBuf,
    /// A command the script registered with cli_command (init-db, ...)
    /// instead of serving.
    command: Option<String>,
    /// Arguments for that command.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// The interface to bind to [default: 127.0.0.1, or run(#{host})].
    #[arg(long, short = 'H')]
    host: Option<String>,
    /// The port to bind to [default: 5000, or run(#{port})].
    #[arg(long, short = 'p')]
    port: Option<u16>,
    /// Worker threads [default: 2 per CPU, at least 8].
    #[arg(long)]
    threads: Option<usize>,
    /// Debug mode: reload on change and show error details to local clients.
    #[arg(long)]
    debug: bool,
}

#[derive(Debug, Args)]
struct RoutesArgs {
    /// The app's script.
    app: PathBuf,
    /// How to sort the table.
    #[arg(long, short = 's', default_value = "endpoint", value_parser = ["endpoint", "methods", "rule", "match"])]
    sort: String,
    /// Show HEAD and OPTIONS too.
    #[arg(long)]
    all_methods: bool,
}

/// Runs the command line; returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let mut args: Vec<OsString> = args.into_iter().collect();
    // `flaskrs-host APP.rhai` means `flaskrs-host run APP.rhai`.
    if let Some(first) = args.get(1).and_then(|a| a.to_str()) {
        let known = ["run", "routes", "help", "-h", "--help", "-V", "--version"];
        if !known.contains(&first) {
            args.insert(1, "run".into());
        }
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match cli.command {
        Command::Routes(a) => routes(&a),
        Command::Run(a) => run(&a),
    }
}

fn load(path: &PathBuf) -> Result<App, i32> {
    load_with(path, false)
}

fn load_with(path: &PathBuf, debug: bool) -> Result<App, i32> {
    if !path.is_file() {
        eprintln!(
            "Error: Could not find the app script '{}'. Pass the path of a .rhai file, for example: flaskrs-host apps/hello.rhai",
            path.display()
        );
        return Err(2);
    }
    let mut builder = App::builder();
    if debug {
        builder = builder.config("DEBUG", true);
    }
    builder.load_file(path).map_err(|e| {
        eprintln!("Error: {e}");
        1
    })
}

fn routes(a: &RoutesArgs) -> i32 {
    match load(&a.app) {
        Ok(app) => {
            print!("{}", routes_table(&app.routes(), &a.sort, a.all_methods));
            0
        }
        Err(code) => code,
    }
}

/// The table `flask routes` prints.
pub fn routes_table(rules: &[RouteInfo], sort: &str, all_methods: bool) -> String {
    if rules.is_empty() {
        return "No routes were registered.\n".to_owned();
    }
    let mut rows: Vec<[String; 3]> = rules
        .iter()
        .map(|r| {
            let methods: Vec<&str> = r
                .methods
                .iter()
                .map(String::as_str)
                .filter(|m| all_methods || (*m != "HEAD" && *m != "OPTIONS"))
                .collect();
            [r.endpoint.clone(), methods.join(", "), r.rule.clone()]
        })
        .collect();
    match sort {
        "endpoint" => rows.sort_by(|a, b| a[0].cmp(&b[0])),
        "methods" => rows.sort_by(|a, b| a[1].cmp(&b[1])),
        "rule" => rows.sort_by(|a, b| a[2].cmp(&b[2])),
        _ => {}
    }
    let header = [
        "Endpoint".to_owned(),
        "Methods".to_owned(),
        "Rule".to_owned(),
    ];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let dashes = [
        "-".repeat(widths[0]),
        "-".repeat(widths[1]),
        "-".repeat(widths[2]),
    ];
    let mut out = String::new();
    for row in [&header, &dashes].into_iter().chain(rows.iter()) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}",
            row[0],
            row[1],
            row[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn run(a: &RunArgs) -> i32 {
    crate::logging::init_stderr_logging();
    let app = match load_with(&a.app, a.debug) {
        Ok(app) => app,
        Err(code) => return code,
    };
    if let Some(cmd) = &a.command {
        return match app.run_command(cmd, &a.args) {
            Ok(out) => {
                if !out.is_unit() {
                    let text = out.to_string();
                    if !text.is_empty() {
                        println!("{text}");
                    }
                }
                0
            }
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        };
    }
    let opts = app.run_options();
    let opt_str = |k: &str| {
        opts.get(k)
            .filter(|v| !v.is_unit())
            .map(ToString::to_string)
    };
    let host = a
        .host
        .clone()
        .or_else(|| opt_str("host"))
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = a
        .port
        .or_else(|| {
            opts.get("port")
                .and_then(|v| v.as_int().ok())
                .and_then(|p| u16::try_from(p).ok())
        })
        .unwrap_or(5000);
    let threads = a
        .threads
        .or_else(|| {
            opts.get("threads")
                .and_then(|v| v.as_int().ok())
                .and_then(|n| usize::try_from(n).ok())
        })
        .unwrap_or_else(|| crate::server::ServerConfig::default().threads)
        .max(1);
    let debug = app.debug();
    let config = crate::server::ServerConfig {
        host: host.clone(),
        port,
        threads,
        ..crate::server::ServerConfig::default()
    };
    let handler_app = app.clone();
    let handle = match crate::server::Server::bind(
        config,
        std::sync::Arc::new(move |req| handler_app.handle(req)),
    ) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    eprintln!(" * Serving flaskrs app '{}'", a.app.display());
    eprintln!(" * Debug mode: {}", if debug { "on" } else { "off" });
    let addr = handle.addr();
    if host == "0.0.0.0" {
        eprintln!(" * Running on all addresses (0.0.0.0)");
    }
    eprintln!(
        " * Running on http://{}:{}/",
        display_host(&host),
        addr.port()
    );
    eprintln!("Press CTRL+C to quit");
    if let Err(e) = crate::server::install_signal_handlers(handle.trigger()) {
        eprintln!("Warning: could not install the SIGINT/SIGTERM handlers ({e}); stop the server with SIGKILL.");
    }
    handle.wait();
    0
}

fn display_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
