package attnc.cli;

import attnc.front.CompileException;
import attnc.front.Diagnostic;
import attnc.front.Frontend;
import attnc.ir.Pattern;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code attnc check FILE...}: reports every file's diagnostics; exit code 0 when all are clean. */
@Command(name = "check", description = "Checks .attn files and reports their errors (file:line:col, caret, expected).")
final class CheckCommand implements Callable<Integer> {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "The .attn files to check.")
    private List<Path> files;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean allClean = true;
        for (Path file : files) {
            try {
                Optional<Pattern> pattern = Frontend.check(file);
                out.println(file + ": ok" + (pattern.isEmpty() ? " (library)" : ""));
            } catch (CompileException e) {
                allClean = false;
                for (Diagnostic d : e.diagnostics()) err.println(d.format());
            }
        }
        return allClean ? 0 : 1;
    }
}
