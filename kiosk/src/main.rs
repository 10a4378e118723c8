fn main() {
    println!("{}", mend_kiosk::version_line());
}
