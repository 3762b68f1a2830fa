/// The version of the Kandinsky library and tool.
public enum KandinskyVersion {
    /// The semantic version string, e.g. `0.1.0`.
    public static let string = "0.1.0"
}
