fn main() {
    eprintln!("ppgd: being written");
    std::process::exit(2);
}
