package attnc.export;

import attnc.front.CompileException;
import attnc.front.Diagnostic;
import attnc.front.Frontend;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.run.Backend;
import attnc.run.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One build-time generation over a source tree of .attn files: a wrapper per pattern (libraries,
 * files without sections, only serve imports), precompiled kernels from the backends asked for
 * (resources under {@code attnc/<backend>/<wrapper class path>/}, which the wrapper loads instead
 * of generating code at run time).
 * Incremental twice over: a stamp of every input's content skips the whole run when nothing
 * changed, and a file whose content would not change is never rewritten (its timestamp stays,
 * so javac sees nothing new).
 */
public final class Generation {
    /** What a run did; errors are in javac's {@code file:[line,col] message} form. */
    public record Outcome(int patterns, int written, boolean upToDate, List<String> errors) {}

    private final Path sources;
    private final Path javaOutput;
    private final Path resourceOutput;
    private final String basePackage;
    private final List<String> precompile;

    public Generation(Path sources, Path javaOutput, Path resourceOutput, String basePackage, List<String> precompile) {
        this.sources = sources;
        this.javaOutput = javaOutput;
        this.resourceOutput = resourceOutput;
        this.basePackage = basePackage;
        this.precompile = List.copyOf(precompile);
    }

    public Outcome run() throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(sources)) {
            files = walk.filter(p -> p.toString().endsWith(".attn")).sorted().toList();
        }
        String stamp = stamp(files);
        Path stampFile = javaOutput.resolve(".attnc-stamp");
        if (Files.isRegularFile(stampFile) && Files.readString(stampFile).equals(stamp)) {
            return new Outcome(files.size(), 0, true, List.of());
        }
        List<String> errors = new ArrayList<>();
        int patterns = 0;
        int written = 0;
        for (Path file : files) {
            Optional<Pattern> pattern;
            try {
                pattern = Frontend.check(file);
            } catch (CompileException e) {
                for (Diagnostic d : e.diagnostics()) errors.add(d.file() + ":[" + d.line() + "," + d.column() + "] " + d.message());
                continue;
            }
            if (pattern.isEmpty()) continue;
            patterns++;
            String packageName = packageFor(sources.relativize(file).getParent());
            String source = sources.relativize(file).toString();
            String wrapperPath = packageName.replace('.', '/') + "/" + WrapperGenerator.className(pattern.get().name());
            Map<String, List<String>> precompiled = new java.util.LinkedHashMap<>();
            for (String backendName : precompile) {
                Backend backend = Backend.named(backendName).orElse(null);
                if (backend == null) {
                    errors.add(file + ":[1,1] unknown backend '" + backendName + "' in <precompile>; expected one of " + Backend.names());
                    continue;
                }
                Map<String, byte[]> artifacts = backend.export(Passes.optimize(pattern.get(), Map.of()));
                for (var artifact : artifacts.entrySet()) {
                    Path target = resourceOutput.resolve("attnc").resolve(backendName).resolve(wrapperPath).resolve(artifact.getKey());
                    written += writeIfChanged(target, artifact.getValue());
                }
                if (!artifacts.isEmpty()) precompiled.put(backendName, List.copyOf(artifacts.keySet()));
            }
            var javaFile = WrapperGenerator.generate(pattern.get(), packageName, source, Sha256.hex(Files.readAllBytes(file)), precompiled);
            Path target = javaOutput.resolve(packageName.replace('.', '/')).resolve(javaFile.typeSpec().name() + ".java");
            written += writeIfChanged(target, javaFile.toString().getBytes(StandardCharsets.UTF_8));
        }
        if (errors.isEmpty()) {
            Files.createDirectories(javaOutput);
            Files.writeString(stampFile, stamp);
        }
        return new Outcome(patterns, written, false, errors);
    }

    private String packageFor(Path relativeDirectory) {
        if (relativeDirectory == null) return basePackage;
        StringBuilder name = new StringBuilder(basePackage);
        for (Path part : relativeDirectory) name.append('.').append(part.toString().replaceAll("[^A-Za-z0-9_]", "_"));
        return name.toString();
    }

    private static int writeIfChanged(Path target, byte[] content) throws IOException {
        if (Files.isRegularFile(target) && java.util.Arrays.equals(Files.readAllBytes(target), content)) return 0;
        Files.createDirectories(target.getParent());
        Files.write(target, content);
        return 1;
    }

    private String stamp(List<Path> files) throws IOException {
        StringBuilder all = new StringBuilder("attnc-generation-1 ").append(basePackage).append(' ').append(precompile).append('\n');
        for (Path file : files) all.append(sources.relativize(file)).append(' ').append(Sha256.hex(Files.readAllBytes(file))).append('\n');
        return all.toString();
    }
}
