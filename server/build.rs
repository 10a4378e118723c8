// Migrations and templates are embedded at compile time: rebuild when they change.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../templates");
    println!("cargo:rerun-if-changed=../locales");
}
