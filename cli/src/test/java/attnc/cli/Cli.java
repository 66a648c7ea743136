package attnc.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** Runs {@link Main} in-process with captured output, as a user's shell would see it. */
record Cli(int exitCode, String out, String err) {

    static final Path EXAMPLES = Path.of(System.getProperty("basedir", ".")).resolve("../examples").toAbsolutePath().normalize();

    static Cli run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Cli(exitCode, out.toString(), err.toString());
    }

    /** What a failing assertion should show: the whole exchange. */
    String transcript() {
        return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }

    boolean showsStackTrace() {
        return err.contains("\tat ") || err.contains("Exception") || out.contains("\tat ");
    }
}
