package attnc.jvm;

import java.nio.charset.StandardCharsets;

/**
 * The {@code kernel.json} of an exported JVM kernel (the exporter copies it into its manifest):
 * which classes, their tiles, how to load them and what they need at run time. Class names are
 * made of [A-Za-z0-9_.] by the generator, so no JSON escaping is needed.
 */
final class ExportDescription {
    private ExportDescription() {}

    static byte[] json(String mainClass, int tileQ, String narrowClass, int narrowTileQ, int tileKv) {
        String text = """
                {
                  "backend": "jvm",
                  "classes": {"main": "%s", "narrow": "%s"},
                  "tiles": {"main": {"q": %d, "kv": %d}, "narrow": {"q": %d, "kv": %d}},
                  "narrowUpTo": "launches with Nq <= %d queries run the narrow class",
                  "entry": "new attnc.jvm.JvmBackend().load(pattern, classLoader, main, narrow): pattern = Passes.optimize(the .attn file), classLoader sees these classes",
                  "runtime": "attnc-backend-jvm (package attnc.jvm.kernel) and attnc-compiler of the exporting attnc version, JDK 25 with --add-modules jdk.incubator.vector",
                  "vectorLanes": %d
                }
                """.formatted(mainClass, narrowClass, tileQ, tileKv, narrowTileQ, tileKv, narrowTileQ, narrowTileQ);
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
