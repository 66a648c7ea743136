package attnc.cli;

import attnc.export.Exporter;
import attnc.ir.Pattern;
import attnc.run.Sha256;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code attnc export FILE --target ...}: writes the kernel for use elsewhere, with a JSON manifest. */
@Command(name = "export", description = {
        "Writes a pattern's kernel: ptx (text), cubin (through ptxas), classes or jar (JVM kernel), java (typed wrapper),",
        "torch (a Python package: the pattern as a PyTorch custom op with autograd, needing only torch).",
        "A <pattern>.manifest.json describes it: entry point, argument ABI, tile sizes, grid rule, shapes, source hash."})
final class ExportCommand implements Callable<Integer> {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The .attn pattern file.")
    private Path file;

    @Option(names = "--target", required = true, paramLabel = "KIND", description = "One of: ${COMPLETION-CANDIDATES}.",
            converter = TargetConverter.class, completionCandidates = Targets.class)
    private Exporter.Target target;

    @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = ".", description = "Folder to write into (default: ${DEFAULT-VALUE}).")
    private Path output;

    @Option(names = "--arch", split = ",", paramLabel = "ARCH",
            description = "GPU architectures for --target ptx or cubin: sm_80 (mma.sync, every GPU from Ampere on), sm_90a (Hopper); default both.")
    private java.util.List<String> architectures = java.util.List.of();

    @Override
    public Integer call() throws Exception {
        OutputPaths.requireFolder("-o", output);
        Pattern pattern = Patterns.load(file);
        String sha = Sha256.hex(Files.readAllBytes(file));
        Exporter.Written written;
        try {
            written = Exporter.export(pattern, sha, target, architectures, output);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        var out = spec.commandLine().getOut();
        written.files().forEach(f -> out.println("wrote     " + f));
        written.notes().forEach(n -> out.println("note      " + n));
        return 0;
    }

    static final class Targets extends java.util.ArrayList<String> {
        Targets() {
            for (Exporter.Target t : Exporter.Target.values()) add(t.name().toLowerCase());
        }
    }

    static final class TargetConverter implements CommandLine.ITypeConverter<Exporter.Target> {
        @Override
        public Exporter.Target convert(String value) {
            try {
                return Exporter.Target.valueOf(value.toUpperCase());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("expected one of " + new Targets() + ", got '" + value + "'");
            }
        }
    }
}
