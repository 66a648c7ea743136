package attnc.front;

/**
 * One error in a .attn file: where (1-based line, 1-based column, length of the offending
 * text), what is wrong and what was expected. {@link #format()} gives the compiler's usual form,
 * {@code file:line:col: error: message}, the source line and a caret under the offending text.
 */
public record Diagnostic(String file, int line, int column, int length, String message, String sourceLine) {

    public String format() {
        StringBuilder out = new StringBuilder()
                .append(file).append(':').append(line).append(':').append(column).append(": error: ").append(message);
        if (!sourceLine.isEmpty()) {
            String shown = sourceLine.replace('\t', ' ');
            int start = Math.max(0, Math.min(column - 1, shown.length()));
            int carets = Math.max(1, Math.min(length, shown.length() - start));
            out.append('\n').append("  ").append(shown)
               .append('\n').append("  ").append(" ".repeat(start)).append("^".repeat(carets));
        }
        return out.toString();
    }

    @Override public String toString() { return format(); }
}
