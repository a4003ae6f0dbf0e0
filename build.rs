// sqlx's `migrate!` embeds the migration files at compile time; without this, adding a
// migration would not rebuild the binary on stable Rust.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
