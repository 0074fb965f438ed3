//! `flaskrs-host`: the command line of the flaskrs library.

fn main() {
    std::process::exit(flaskrs::cli::main(std::env::args_os()));
}
