package attnc.export;

import attnc.front.CompileException;
import attnc.front.Diagnostic;
import attnc.front.Frontend;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.run.Attnc;
import attnc.run.Backend;
import attnc.run.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * One build-time generation over a source tree of .attn files: a wrapper per pattern (libraries,
 * files without sections, only serve imports), precompiled kernels from the backends asked for
 * (resources under {@code attnc/<backend>/<wrapper class path>/}, which the wrapper loads instead
 * of generating code at run time).
 *
 * <p>Reproducible: the same inputs give the same bytes, whatever the JVM's hash seeds. Incremental
 * twice over: a stamp of every input (sources, libraries, settings, the generator's version)
 * skips the whole run when nothing changed, and a file whose content would not change is never
 * rewritten (its timestamp stays, so javac sees nothing new). Outputs of inputs that are gone
 * are deleted, with their copies among the compiled classes.
 */
public final class Generation {

    /**
     * What to generate from where.
     *
     * @param includes globs (relative to {@code sources}) of the files to generate from; empty for all .attn files
     * @param excludes globs of files to leave out (they can still be imported)
     * @param libraries folders or jars whose {@code attn/} folder imports may come from
     * @param resourceCopies folders where the build copies {@code resourceOutput} (the compiled
     *     classes): resources of removed inputs are deleted there too
     * @param toolVersion the generator's version, part of the up-to-date stamp
     */
    public record Settings(Path sources, Path javaOutput, Path resourceOutput, String basePackage, List<String> precompile,
                           List<String> includes, List<String> excludes, List<Path> libraries, List<Path> resourceCopies,
                           String toolVersion) {
        public Settings {
            precompile = List.copyOf(precompile);
            includes = List.copyOf(includes);
            excludes = List.copyOf(excludes);
            libraries = List.copyOf(libraries);
            resourceCopies = List.copyOf(resourceCopies);
        }

        /** All .attn files of {@code sources}, no libraries, no copies. */
        public static Settings of(Path sources, Path javaOutput, Path resourceOutput, String basePackage, List<String> precompile) {
            return new Settings(sources, javaOutput, resourceOutput, basePackage, precompile, List.of(), List.of(), List.of(), List.of(), "dev");
        }
    }

    /**
     * What a run did: patterns compiled, files written and removed, and the errors (each at its
     * file, line and column); {@code changed} lists every file written or deleted.
     */
    public record Outcome(int patterns, int written, int removed, boolean upToDate, List<Diagnostic> errors, List<Path> changed) {
        /** Errors in javac's {@code file:[line,col] message} form. */
        public List<String> errorLines() {
            return errors.stream().map(d -> d.file() + ":[" + d.line() + "," + d.column() + "] " + d.message()).toList();
        }
    }

    private static final String STAMP = ".attnc-stamp";
    private static final String OUTPUTS = ".attnc-outputs";
    private static final String JAVA = "java/", RESOURCES = "resources/";

    private final Settings settings;
    private final Consumer<String> progress;

    public Generation(Settings settings, Consumer<String> progress) {
        this.settings = settings;
        this.progress = progress;
    }

    public Generation(Settings settings) {
        this(settings, line -> {});
    }

    /**
     * @throws IllegalArgumentException for settings no run can satisfy (a backend that is not on
     *     the class path), before anything is written
     */
    public Outcome run() throws IOException {
        List<Backend> backends = new ArrayList<>();
        for (String name : settings.precompile()) backends.add(Backend.named(name).orElseThrow(() -> Attnc.unknownBackend(name)));
        try (Libraries libraries = Libraries.open(settings.libraries())) {
            List<Path> files = sourceFiles();
            String stamp = stamp(files, libraries);
            Path stampFile = settings.javaOutput().resolve(STAMP);
            if (Files.isRegularFile(stampFile) && Files.readString(stampFile).equals(stamp)) {
                return new Outcome(files.size(), 0, 0, true, List.of(), List.of());
            }
            return generate(files, libraries.roots(), backends, stamp);
        }
    }

    private Outcome generate(List<Path> files, List<Path> libraryRoots, List<Backend> backends, String stamp) throws IOException {
        Set<String> previous = readOutputs();
        Set<String> produced = new LinkedHashSet<>();
        List<Diagnostic> errors = new ArrayList<>();
        List<Path> changed = new ArrayList<>();
        int patterns = 0;
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            Optional<Pattern> pattern;
            try {
                pattern = Frontend.check(file, libraryRoots);
            } catch (CompileException e) {
                errors.addAll(e.diagnostics());
                continue;
            }
            if (pattern.isEmpty()) continue;
            patterns++;
            Path relative = settings.sources().relativize(file);
            String packageName = packageFor(relative.getParent());
            String className = WrapperGenerator.className(pattern.get().name());
            String wrapperPath = packageName.replace('.', '/') + "/" + className;
            if (!backends.isEmpty()) progress.accept("attnc: [" + (i + 1) + "/" + files.size() + "] " + relative + ": precompiling for " + settings.precompile());
            Map<String, List<String>> precompiled = new TreeMap<>();
            for (Backend backend : backends) {
                Map<String, byte[]> artifacts = new TreeMap<>(backend.export(Passes.optimize(pattern.get(), Map.of())));
                for (var artifact : artifacts.entrySet()) {
                    String resource = "attnc/" + backend.name() + "/" + wrapperPath + "/" + artifact.getKey();
                    produced.add(RESOURCES + resource);
                    write(settings.resourceOutput().resolve(resource), artifact.getValue(), changed);
                }
                if (!artifacts.isEmpty()) precompiled.put(backend.name(), List.copyOf(artifacts.keySet()));
            }
            var javaFile = WrapperGenerator.generate(pattern.get(), packageName, relative.toString().replace('\\', '/'),
                    Sha256.hex(Files.readAllBytes(file)), precompiled);
            String source = packageName.replace('.', '/') + "/" + javaFile.typeSpec().name() + ".java";
            produced.add(JAVA + source);
            write(settings.javaOutput().resolve(source), javaFile.toString().getBytes(StandardCharsets.UTF_8), changed);
        }
        int written = changed.size();
        int removed = 0;
        if (errors.isEmpty()) {
            for (String gone : previous) if (!produced.contains(gone)) removed += remove(gone, changed);
            writeOutputs(produced);
            Files.writeString(settings.javaOutput().resolve(STAMP), stamp);
        } else {
            // Keep the record of earlier outputs: once the errors are fixed, the next run removes what is stale.
            Set<String> all = new LinkedHashSet<>(previous);
            all.addAll(produced);
            writeOutputs(all);
        }
        return new Outcome(patterns, written, removed, false, List.copyOf(errors), List.copyOf(changed));
    }

    private List<Path> sourceFiles() throws IOException {
        if (!Files.isDirectory(settings.sources())) return List.of();
        Globs included = new Globs(settings.includes().isEmpty() ? List.of("**/*.attn") : settings.includes());
        Globs excluded = new Globs(settings.excludes());
        try (Stream<Path> walk = Files.walk(settings.sources())) {
            return walk.filter(Files::isRegularFile).filter(p -> p.toString().endsWith(".attn"))
                    .filter(p -> {
                        Path relative = settings.sources().relativize(p);
                        return included.matches(relative) && !excluded.matches(relative);
                    })
                    .sorted().toList();
        }
    }

    private String packageFor(Path relativeDirectory) {
        if (relativeDirectory == null) return settings.basePackage();
        StringBuilder name = new StringBuilder(settings.basePackage());
        for (Path part : relativeDirectory) name.append('.').append(part.toString().replaceAll("[^A-Za-z0-9_]", "_"));
        return name.toString();
    }

    private static void write(Path target, byte[] content, List<Path> changed) throws IOException {
        if (Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), content)) return;
        Files.createDirectories(target.getParent());
        // Written aside and moved into place: an interrupted build never leaves half a file to compile.
        Path partial = target.resolveSibling(target.getFileName() + ".partial");
        Files.write(partial, content);
        try {
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
        }
        changed.add(target);
    }

    /** Deletes a stale output (and, for a resource, its copies); returns how many files went. */
    private int remove(String output, List<Path> changed) throws IOException {
        List<Path> places = new ArrayList<>();
        if (output.startsWith(JAVA)) {
            places.add(settings.javaOutput().resolve(output.substring(JAVA.length())));
        } else if (output.startsWith(RESOURCES)) {
            String resource = output.substring(RESOURCES.length());
            places.add(settings.resourceOutput().resolve(resource));
            for (Path copies : settings.resourceCopies()) places.add(copies.resolve(resource));
        }
        int removed = 0;
        for (Path place : places) {
            if (Files.deleteIfExists(place)) {
                removed++;
                changed.add(place);
                deleteEmptyParents(place);
            }
        }
        return removed;
    }

    private void deleteEmptyParents(Path file) throws IOException {
        List<Path> roots = new ArrayList<>(List.of(settings.javaOutput(), settings.resourceOutput()));
        roots.addAll(settings.resourceCopies());
        for (Path dir = file.getParent(); dir != null && roots.stream().noneMatch(dir::equals)
                && roots.stream().anyMatch(dir::startsWith); dir = dir.getParent()) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) return;
            }
            Files.delete(dir);
        }
    }

    private Set<String> readOutputs() throws IOException {
        Path file = settings.javaOutput().resolve(OUTPUTS);
        return Files.isRegularFile(file) ? new LinkedHashSet<>(Files.readAllLines(file)) : new LinkedHashSet<>();
    }

    private void writeOutputs(Set<String> outputs) throws IOException {
        Files.createDirectories(settings.javaOutput());
        Files.write(settings.javaOutput().resolve(OUTPUTS), outputs.stream().sorted().toList());
    }

    private String stamp(List<Path> files, Libraries libraries) throws IOException {
        StringBuilder all = new StringBuilder("attnc-generation-2 ").append(settings.toolVersion()).append('\n')
                .append("package ").append(settings.basePackage()).append('\n')
                .append("precompile ").append(settings.precompile()).append('\n')
                .append("includes ").append(settings.includes()).append(" excludes ").append(settings.excludes()).append('\n');
        for (Path file : files) {
            all.append(settings.sources().relativize(file)).append(' ').append(Sha256.hex(Files.readAllBytes(file))).append('\n');
        }
        // Excluded files and libraries can still be imported, so their content counts too.
        all.append(libraries.fingerprint(settings.sources()));
        return all.toString();
    }
}
