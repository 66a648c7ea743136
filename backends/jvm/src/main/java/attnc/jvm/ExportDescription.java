package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.kernel.Lanes;
import attnc.run.Sha256;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;

/**
 * The {@code kernel.json} of an exported JVM kernel (the exporter copies it into its manifest):
 * which classes, their tiles, how to load them, what they need at run time, and a hash of the
 * optimised pattern they were generated from, so {@link JvmBackend#load(Pattern, java.util.Map)}
 * never pairs classes with another pattern's launch slots.
 */
final class ExportDescription {
    static final String FILE = "kernel.json";
    /** 2: the decode class replaced layout 1's narrow one. */
    private static final int LAYOUT = 2;

    record Classes(String main, String decode) {}

    /** What a kernel.json says about this pattern on this CPU: the classes to load, or why it does not fit. */
    record Reading(Classes classes, String unfit) {
        static Reading fits(String main, String decode) { return new Reading(new Classes(main, decode), null); }
        static Reading unfit(String reason) { return new Reading(null, reason); }
    }

    private ExportDescription() {}

    static byte[] json(Pattern pattern, String mainClass, int tileQ, int tileKv, String decodeClass, int decodeTileKv) {
        JsonObject root = new JsonObject();
        root.addProperty("backend", "jvm");
        root.addProperty("layout", LAYOUT);
        root.addProperty("patternSha256", Sha256.of(pattern));
        JsonObject classes = new JsonObject();
        classes.addProperty("main", mainClass);
        classes.addProperty("decode", decodeClass);
        root.add("classes", classes);
        JsonObject tiles = new JsonObject();
        tiles.add("main", tile(tileQ, tileKv));
        JsonObject decode = new JsonObject();
        decode.addProperty("kv", decodeTileKv);
        tiles.add("decode", decode);
        root.add("tiles", tiles);
        root.addProperty("decodeUpTo", "launches with at most " + attnc.jvm.kernel.DecodeLaunch.MAX_QUERIES
                + " queries a sequence run the decode class (a GQA group's heads and queries against each key row)");
        root.addProperty("entry", "attnc.jvm.JvmBackend: load(pattern, files) with every exported file by path, or "
                + "load(pattern, classLoader, main, decode) with a class loader that sees these classes; "
                + "pattern = Passes.optimize(the .attn file, no params)");
        root.addProperty("runtime", "attnc-backend-jvm (package attnc.jvm.kernel) and attnc-compiler of the exporting "
                + "attnc version, JDK 25 with --add-modules jdk.incubator.vector");
        root.addProperty("vectorLanes", Lanes.L);
        String text = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(root) + "\n";
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static JsonObject tile(int q, int kv) {
        JsonObject tile = new JsonObject();
        tile.addProperty("q", q);
        tile.addProperty("kv", kv);
        return tile;
    }

    /** Reads a kernel.json: the class names, if it was written for this pattern, layout and vector width. */
    static Reading read(Pattern pattern, byte[] json) {
        if (json == null) return Reading.unfit("its " + FILE + " is missing");
        JsonObject root;
        try {
            JsonElement parsed = JsonParser.parseString(new String(json, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) return Reading.unfit("its " + FILE + " is not a JSON object");
            root = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            return Reading.unfit("its " + FILE + " is not valid JSON (" + e.getMessage() + ")");
        }
        int layout = integer(root, "layout");
        if (layout != LAYOUT) return Reading.unfit("it has layout " + layout + ", and this attnc reads layout " + LAYOUT + " (export it again with this attnc)");
        if (!Sha256.of(pattern).equals(string(root, "patternSha256"))) {
            return Reading.unfit("it was generated from another pattern or by another attnc version (pattern hash differs)");
        }
        int lanes = integer(root, "vectorLanes");
        if (lanes != Lanes.L) {
            return Reading.unfit("it was generated for a CPU with " + lanes + " float lanes per vector, and this CPU has " + Lanes.L);
        }
        JsonObject classes = root.has("classes") && root.get("classes").isJsonObject() ? root.getAsJsonObject("classes") : new JsonObject();
        String main = string(classes, "main"), decode = string(classes, "decode");
        if (main == null || decode == null) return Reading.unfit("its " + FILE + " names no main and decode classes");
        return Reading.fits(main, decode);
    }

    private static String string(JsonObject object, String name) {
        JsonElement e = object.get(name);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }

    private static int integer(JsonObject object, String name) {
        JsonElement e = object.get(name);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsInt() : -1;
    }
}
