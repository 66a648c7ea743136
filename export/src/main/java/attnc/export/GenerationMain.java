package attnc.export;

import attnc.front.Diagnostic;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@link Generation} in a JVM of its own, as the Maven plugin runs it: Maven's JVM may be older
 * than attnc's Java 25 or lack {@code --add-modules jdk.incubator.vector}, and the backends the
 * build asks for join this JVM's class path only. Reads the settings from a JSON file, prints
 * progress on standard output, and writes the outcome (or the reason nothing was done) as JSON.
 *
 * <p>Usage: {@code GenerationMain REQUEST.json RESULT.json}. Exit status 0 when the result was
 * written (pattern errors are in it), 1 for a failure of the generator itself.
 */
public final class GenerationMain {
    private GenerationMain() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: GenerationMain REQUEST.json RESULT.json");
            System.exit(1);
        }
        JsonObject request = JsonParser.parseString(Files.readString(Path.of(args[0]))).getAsJsonObject();
        JsonObject result = new JsonObject();
        try {
            Generation.Outcome outcome = new Generation(settings(request), System.out::println).run();
            result.addProperty("patterns", outcome.patterns());
            result.addProperty("written", outcome.written());
            result.addProperty("removed", outcome.removed());
            result.addProperty("upToDate", outcome.upToDate());
            JsonArray errors = new JsonArray();
            for (Diagnostic d : outcome.errors()) {
                JsonObject e = new JsonObject();
                e.addProperty("file", d.file());
                e.addProperty("line", d.line());
                e.addProperty("column", d.column());
                e.addProperty("message", d.message());
                errors.add(e);
            }
            result.add("errors", errors);
            JsonArray changed = new JsonArray();
            outcome.changed().forEach(p -> changed.add(p.toString()));
            result.add("changed", changed);
        } catch (IllegalArgumentException e) {
            result.addProperty("refused", e.getMessage());
        }
        Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        Files.writeString(Path.of(args[1]), gson.toJson(result), StandardCharsets.UTF_8);
    }

    static Generation.Settings settings(JsonObject r) {
        return new Generation.Settings(path(r, "sources"), path(r, "javaOutput"), path(r, "resourceOutput"),
                r.get("packageName").getAsString(), strings(r, "precompile"), strings(r, "includes"), strings(r, "excludes"),
                strings(r, "libraries").stream().map(Path::of).toList(), strings(r, "resourceCopies").stream().map(Path::of).toList(),
                r.get("toolVersion").getAsString());
    }

    private static Path path(JsonObject r, String name) {
        return Path.of(r.get(name).getAsString());
    }

    private static List<String> strings(JsonObject r, String name) {
        if (!r.has(name)) return List.of();
        return r.getAsJsonArray(name).asList().stream().map(e -> e.getAsString()).toList();
    }
}
