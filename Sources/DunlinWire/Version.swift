/// Dunlin's release version: the one string `dunlind --version`, `dunlin --version`, Info and the
/// HELLO's client version all read.
public enum DunlinVersion {
    public static let current = "0.1.0"
}
