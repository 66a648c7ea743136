package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.kernel.Lanes;
import attnc.run.Sha256;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;

/**
 * The {@code kernel.json} of an exported JVM kernel (the exporter copies it into its manifest):
 * which classes, their tiles, how to load them, what they need at run time, and a hash of the
 * optimised pattern they were generated from, so {@link JvmBackend#load(Pattern, java.util.Map)}
 * never pairs classes with another pattern's launch slots. Class names are made of [A-Za-z0-9_.]
 * by the generator, so no JSON escaping is needed.
 */
final class ExportDescription {
    static final String FILE = "kernel.json";
    private static final int LAYOUT = 1;

    record Classes(String main, String narrow) {}

    private ExportDescription() {}

    static byte[] json(Pattern pattern, String mainClass, int tileQ, String narrowClass, int narrowTileQ, int tileKv) {
        String text = """
                {
                  "backend": "jvm",
                  "layout": %d,
                  "patternSha256": "%s",
                  "classes": {"main": "%s", "narrow": "%s"},
                  "tiles": {"main": {"q": %d, "kv": %d}, "narrow": {"q": %d, "kv": %d}},
                  "narrowUpTo": "launches with Nq <= %d queries run the narrow class",
                  "entry": "attnc.jvm.JvmBackend: load(pattern, files) with every exported file by path, or load(pattern, classLoader, main, narrow) with a class loader that sees these classes; pattern = Passes.optimize(the .attn file, no params)",
                  "runtime": "attnc-backend-jvm (package attnc.jvm.kernel) and attnc-compiler of the exporting attnc version, JDK 25 with --add-modules jdk.incubator.vector",
                  "vectorLanes": %d
                }
                """.formatted(LAYOUT, Sha256.of(pattern), mainClass, narrowClass, tileQ, tileKv, narrowTileQ, tileKv, narrowTileQ, narrowTileQ, Lanes.L);
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The class names a kernel.json names, if it was written for this pattern, layout and vector width. */
    static Optional<Classes> classes(Pattern pattern, byte[] json) {
        if (json == null) return Optional.empty();
        String text = new String(json, StandardCharsets.UTF_8);
        if (!field(text, "layout", "\\d+").equals(Optional.of(String.valueOf(LAYOUT)))
                || !field(text, "patternSha256", "\"([0-9a-f]+)\"").equals(Optional.of(Sha256.of(pattern)))
                || !field(text, "vectorLanes", "\\d+").equals(Optional.of(String.valueOf(Lanes.L)))) {
            return Optional.empty();
        }
        Optional<String> main = field(text, "main", "\"([A-Za-z0-9_.]+)\""), narrow = field(text, "narrow", "\"([A-Za-z0-9_.]+)\"");
        return main.isPresent() && narrow.isPresent() ? Optional.of(new Classes(main.get(), narrow.get())) : Optional.empty();
    }

    /** The first value of {@code "name": value} matching {@code value} (its group 1 if it has one). */
    private static Optional<String> field(String text, String name, String value) {
        Matcher m = java.util.regex.Pattern.compile("\"" + name + "\": (" + value + ")").matcher(text);
        if (!m.find()) return Optional.empty();
        return Optional.of(m.groupCount() > 1 && m.group(2) != null ? m.group(2) : m.group(1));
    }
}
