package attnc.cli;

import attnc.front.CompileException;
import attnc.launch.ShapeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code attnc} command. Every user error (a bad .attn file, a shape that does not fit, a
 * missing file) ends with a one-line message and exit code 1; usage errors are picocli's (exit
 * code 2); anything else is a bug in attnc and keeps its stack trace. {@code --help} and {@code -V} are
 * inherited by every subcommand, and {@code attnc help CMD} prints one command's usage; both exit 0.
 */
@Command(name = "attnc", mixinStandardHelpOptions = true, version = "attnc 0.1.0", scope = CommandLine.ScopeType.INHERIT,
        description = "Compiles .attn attention patterns into fused kernels, runs them against the reference and draws them.",
        subcommands = {CheckCommand.class, ExplainCommand.class, RunCommand.class, PlotCommand.class, TuneCommand.class, ExportCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int exitCode = run(out, err, args);
        out.flush();
        err.flush();
        System.exit(exitCode);
    }

    /** Runs one command line with the given streams; returns the exit code (tests call this in-process). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setExecutionExceptionHandler((exception, command, parseResult) -> {
            String message = userMessage(exception);
            if (message == null) throw exception;
            command.getErr().println(message);
            command.getErr().flush();
            return 1;
        });
        int exitCode;
        try {
            exitCode = commandLine.execute(args);
        } catch (OutOfMemoryError e) {
            // The launch estimates refuse what cannot fit before allocating; this is the last resort, still one line.
            err.println(userMessage(e));
            exitCode = 1;
        }
        out.flush();
        err.flush();
        return exitCode;
    }

    /** What to tell the user about an exception, or null when it is a bug that should show its trace. */
    static String userMessage(Throwable exception) {
        return switch (exception) {
            case CompileException e -> e.getMessage();
            case ShapeException e -> "attnc: " + e.getMessage();
            case UserError e -> "attnc: " + e.getMessage();
            case NoSuchFileException e -> "attnc: no such file: " + e.getFile();
            case AccessDeniedException e -> "attnc: " + e.getFile() + ": permission denied";
            case FileSystemException e -> "attnc: " + e.getFile() + ": " + (e.getReason() == null ? "cannot be used" : e.getReason());
            case IOException e -> "attnc: " + e.getMessage();
            case OutOfMemoryError e -> "attnc: out of memory (" + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MiB heap); give java more with -Xmx or choose smaller sizes";
            default -> null;
        };
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
