package attnc.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress of long work on stderr, silent for anything under two seconds: a bar redrawn in place
 * on a terminal, else a line at most every ten seconds (logs stay readable), and a closing line.
 */
final class Progress {
    private static final long QUIET_NANOS = 2_000_000_000L;
    private static final long LOG_EVERY_NANOS = 10_000_000_000L;

    private final PrintWriter err;
    private final String label;
    private final long total;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private long lastShown;
    private boolean shown;

    Progress(PrintWriter err, String label, long total) {
        this(err, label, total, System.console() != null && System.console().isTerminal());
    }

    Progress(PrintWriter err, String label, long total, boolean terminal) {
        this.err = err;
        this.label = label;
        this.total = Math.max(1, total);
        this.terminal = terminal;
    }

    void update(long done) {
        long now = System.nanoTime();
        if (now - start < QUIET_NANOS || !terminal && shown && now - lastShown < LOG_EVERY_NANOS) return;
        lastShown = now;
        shown = true;
        String line = bar(done, now);
        if (terminal) err.print("\r" + line); else err.println(line);
        err.flush();
    }

    void done() {
        if (!shown) return;
        String line = bar(total, System.nanoTime());
        if (terminal) err.println("\r" + line); else err.println(line);
        err.flush();
    }

    private String bar(long done, long now) {
        int width = 30, filled = (int) (Math.min(done, total) * width / total);
        return String.format(Locale.ROOT, "%s [%s%s] %d/%d %.0fs", label, "#".repeat(filled), ".".repeat(width - filled),
                Math.min(done, total), total, (now - start) / 1e9);
    }
}
