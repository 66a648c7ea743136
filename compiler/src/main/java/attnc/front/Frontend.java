package attnc.front;

import attnc.grammar.AttnParser;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The front end's entry point: reads a .attn file and the files it imports, parses them and
 * checks them into a {@link Pattern}. All errors of a run are collected and thrown together.
 * An import names a path relative to the importing file; one found nowhere there is looked up in
 * each library folder given (in order), such as the {@code attn/} folder of a dependency's jar,
 * and last in attnc's own library ({@code import "attnc/masks.attn"}), which ships in this
 * module's jar.
 */
public final class Frontend {
    private final Diagnostics diagnostics = new Diagnostics();
    private final Map<Path, Unit> loaded = new HashMap<>();
    private final List<Path> importStack = new ArrayList<>();
    private final List<Path> libraries;
    private final Map<String, Expr> fixedParams;

    private Frontend(List<Path> libraries, Map<String, Expr> fixedParams) {
        this.libraries = List.copyOf(libraries);
        this.fixedParams = fixedParams;
    }

    /** Compiles a pattern file; a file without sections (a library) is an error here. */
    public static Pattern compile(Path file) throws CompileException {
        return compile(file, Map.of());
    }

    /**
     * Compiles a pattern file whose params {@code fixedParams} will be folded at compile time
     * (typed literals, as {@code Binding.paramValue} makes them): a fold through them that
     * overflows int32 or divides by zero is reported at its line and column.
     */
    public static Pattern compile(Path file, Map<String, Expr> fixedParams) throws CompileException {
        return check(file, List.of(), fixedParams).orElseThrow(() -> libraryError(file.toString()));
    }

    /** Compiles pattern text; imports resolve against the current directory. */
    public static Pattern compile(String name, String text) throws CompileException {
        return compile(name, text, Map.of());
    }

    public static Pattern compile(String name, String text, Map<String, Expr> fixedParams) throws CompileException {
        return new Frontend(List.of(), fixedParams).run(new Source(name, text), Path.of(name).toAbsolutePath().normalize())
                .orElseThrow(() -> libraryError(name));
    }

    /** Checks a file: its pattern, or empty when the file only holds definitions for others to import. */
    public static Optional<Pattern> check(Path file) throws CompileException {
        return check(file, List.of());
    }

    /** Checks a file whose imports may also come from {@code libraries} (folders, of any file system). */
    public static Optional<Pattern> check(Path file, List<Path> libraries) throws CompileException {
        return check(file, libraries, Map.of());
    }

    private static Optional<Pattern> check(Path file, List<Path> libraries, Map<String, Expr> fixedParams) throws CompileException {
        Path absolute = file.toAbsolutePath().normalize();
        String text;
        try {
            text = SourceText.read(absolute);
        } catch (IOException e) {
            throw new CompileException(List.of(new Diagnostic(file.toString(), 1, 1, 1, "cannot read file: " + SourceText.reason(e), "")));
        }
        return new Frontend(libraries, fixedParams).run(new Source(file.toString(), text), absolute);
    }

    public static Optional<Pattern> check(String name, String text) throws CompileException {
        return new Frontend(List.of(), Map.of()).run(new Source(name, text), Path.of(name).toAbsolutePath().normalize());
    }

    private Optional<Pattern> run(Source source, Path path) throws CompileException {
        Optional<Pattern> pattern = Optional.empty();
        try {
            Unit main = load(source, path);
            if (!diagnostics.any()) {
                pattern = new Checker(main, diagnostics, patternName(path), fixedParams).check();
            }
        } catch (StackOverflowError tooDeep) {
            // Parser and checker recurse per nesting level; tens of thousands of levels must still be a diagnostic, not a crash.
            throw new CompileException(List.of(new Diagnostic(source.name(), 1, 1, 1,
                    "expressions nest too deeply to compile; expected fewer nested parentheses, operators or lets", "")));
        }
        if (diagnostics.any()) throw new CompileException(diagnostics.all());
        return pattern;
    }

    private Unit load(Source source, Path path) {
        AttnParser.FileContext tree = SyntaxParser.parse(source, diagnostics);
        Unit unit = new Unit(source, path.getParent() == null ? Path.of(".") : path.getParent(), tree);
        loaded.put(path, unit);
        importStack.add(path);
        for (AttnParser.ItemContext item : tree.item()) {
            if (item.importDecl() != null) loadImport(unit, item.importDecl());
        }
        importStack.removeLast();
        return unit;
    }

    private void loadImport(Unit importer, AttnParser.ImportDeclContext decl) {
        if (decl.STRING() == null) return;
        String quoted = decl.STRING().getText();
        String relative = quoted.substring(1, quoted.length() - 1);
        Path target;
        try {
            target = importer.directory.resolve(relative).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            diagnostics.report(importer.source, decl.STRING().getSymbol(),
                    "cannot import " + quoted + ": not a valid path (" + e.getReason() + "); expected a path relative to this file");
            return;
        }
        if (!Files.isRegularFile(target)) target = inLibrary(relative).orElse(target);
        if (importStack.contains(target)) {
            List<String> cycle = new ArrayList<>();
            for (Path p : importStack.subList(importStack.indexOf(target), importStack.size())) cycle.add(p.getFileName().toString());
            cycle.add(target.getFileName().toString());
            diagnostics.report(importer.source, decl.STRING().getSymbol(),
                    "cyclic import: " + String.join(" -> ", cycle) + "; expected imports that form no cycle");
            return;
        }
        Unit already = loaded.get(target);
        if (already != null) {
            importer.imports.add(already);
            return;
        }
        String text;
        try {
            text = SourceText.read(target);
        } catch (IOException e) {
            diagnostics.report(importer.source, decl.STRING().getSymbol(), "cannot import " + quoted + ": "
                    + (Files.isRegularFile(target) ? SourceText.reason(e) : "no readable file at " + target) + "; expected a path relative to this file"
                    + (libraries.isEmpty() ? "" : " or to the attn/ folder" + (libraries.size() == 1 ? " of a dependency" : "s of " + libraries.size() + " dependencies")));
            return;
        }
        String shownName = importer.directory.equals(target.getParent()) ? siblingName(importer.source.name(), target)
                : target.getFileSystem() == java.nio.file.FileSystems.getDefault() ? target.toString() : target.toUri().toString();
        importer.imports.add(load(new Source(shownName, text), target));
    }

    /** The first library holding {@code relative}, if any. */
    private Optional<Path> inLibrary(String relative) {
        List<Path> roots = new ArrayList<>(libraries);
        Bundled.ROOT.ifPresent(roots::add);
        for (Path root : roots) {
            try {
                Path candidate = root.resolve(relative).toAbsolutePath().normalize();
                if (candidate.startsWith(root.toAbsolutePath().normalize()) && Files.isRegularFile(candidate)) return Optional.of(candidate);
            } catch (InvalidPathException e) {
                // not a path in this library's file system; the import is reported if no library has it
            }
        }
        return Optional.empty();
    }

    /** The {@code attn/} folder on this class's class path (in its jar, or among its classes), opened once. */
    private static final class Bundled {
        static final Optional<Path> ROOT = find();

        private static Optional<Path> find() {
            java.net.URL marker = Frontend.class.getResource("/attn/attnc/masks.attn");
            if (marker == null) return Optional.empty();
            try {
                java.net.URI uri = marker.toURI();
                if (uri.getScheme().equals("jar")) {
                    java.nio.file.FileSystem jar;
                    try {
                        jar = java.nio.file.FileSystems.newFileSystem(uri, Map.of());
                    } catch (java.nio.file.FileSystemAlreadyExistsException e) {
                        jar = java.nio.file.FileSystems.getFileSystem(uri);
                    }
                    return Optional.of(jar.getPath("/attn"));
                }
                return Optional.of(Path.of(uri).getParent().getParent());
            } catch (java.net.URISyntaxException | IOException | RuntimeException e) {
                return Optional.empty();
            }
        }
    }

    /** Names an imported file the way the importer was named, so diagnostics read naturally. */
    private static String siblingName(String importerName, Path target) {
        Path parent = Path.of(importerName).getParent();
        return parent == null ? target.getFileName().toString() : parent.resolve(target.getFileName()).toString();
    }

    private static String patternName(Path path) {
        String file = path.getFileName() == null ? "pattern" : path.getFileName().toString();
        return file.endsWith(".attn") ? file.substring(0, file.length() - 5) : file;
    }

    private static CompileException libraryError(String name) {
        return new CompileException(List.of(new Diagnostic(name, 1, 1, 1,
                "missing section 'mask': this file has no sections, so it can only be imported; "
                        + "expected at least `mask: ...` (write `mask: true` for dense attention)", "")));
    }
}
