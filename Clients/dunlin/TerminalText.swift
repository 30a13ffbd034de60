import DunlinClient

/// Prints a line for a person (never for a machine: JSON and CSV output print as they are).
func say(_ line: String) {
    print(terminalSafe(line, newlines: true))
}
