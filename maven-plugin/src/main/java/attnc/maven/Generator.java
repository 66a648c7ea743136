package attnc.maven;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.maven.plugin.MojoExecutionException;
import org.apache.maven.plugin.logging.Log;

/**
 * Runs {@code attnc.export.GenerationMain} in a JVM of its own: Java 25 (whatever Maven runs on),
 * with {@code --add-modules jdk.incubator.vector}, on the plugin's class path plus the backends
 * the build asks for. Settings go in and the outcome comes back as JSON files under
 * {@code target/attnc/<goal>}; the generator's progress lines are logged as they come.
 */
final class Generator {
    static final String MAIN = "attnc.export.GenerationMain";

    record Request(Path sources, Path javaOutput, Path resourceOutput, String packageName, List<String> precompile,
                   List<String> includes, List<String> excludes, List<String> libraries, List<String> resourceCopies,
                   String toolVersion) {}

    record Error(String file, int line, int column, String message) {}

    record Result(int patterns, int written, int removed, boolean upToDate, List<Error> errors, List<File> changed) {}

    private final Path java;
    private final List<Path> classPath;
    private final Log log;
    private final Path work;

    Generator(Path java, List<Path> classPath, Log log, Path work) throws IOException {
        this.java = java;
        this.classPath = List.copyOf(classPath);
        this.log = log;
        this.work = work;
        Files.createDirectories(work);
    }

    Result run(Request request) throws MojoExecutionException {
        Path requestFile = work.resolve("request.json"), resultFile = work.resolve("result.json"), argFile = work.resolve("java.args");
        List<String> command = List.of(java.toString(), "@" + argFile, MAIN, requestFile.toString(), resultFile.toString());
        try {
            Files.deleteIfExists(resultFile);
            Files.writeString(requestFile, json(request), StandardCharsets.UTF_8);
            // An argument file keeps a long class path off the command line (Windows limits it).
            Files.writeString(argFile, "--add-modules jdk.incubator.vector\n-cp \"" + classPathText().replace("\\", "\\\\") + "\"\n",
                    StandardCharsets.UTF_8);
            log.debug("attnc: " + String.join(" ", command));
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) relay(line);
            }
            int status = process.waitFor();
            if (status != 0 || !Files.isRegularFile(resultFile)) {
                throw new MojoExecutionException("attnc: the generator failed (exit status " + status + "; its output is above). Command: "
                        + String.join(" ", command));
            }
            return result(JsonParser.parseString(Files.readString(resultFile, StandardCharsets.UTF_8)).getAsJsonObject());
        } catch (IOException e) {
            throw new MojoExecutionException("attnc: cannot run the generator with " + java + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MojoExecutionException("attnc: interrupted while generating", e);
        }
    }

    private void relay(String line) {
        if (line.startsWith("attnc: ")) {
            log.info(line);
        } else if (line.startsWith("WARNING: Using incubator modules")) {
            log.debug(line);
        } else {
            log.warn(line);
        }
    }

    private String classPathText() {
        List<String> parts = new ArrayList<>();
        for (Path p : classPath) parts.add(p.toString());
        return String.join(File.pathSeparator, parts);
    }

    private static String json(Request r) {
        JsonObject o = new JsonObject();
        o.addProperty("sources", r.sources().toString());
        o.addProperty("javaOutput", r.javaOutput().toString());
        o.addProperty("resourceOutput", r.resourceOutput().toString());
        o.addProperty("packageName", r.packageName());
        o.add("precompile", array(r.precompile()));
        o.add("includes", array(r.includes()));
        o.add("excludes", array(r.excludes()));
        o.add("libraries", array(r.libraries()));
        o.add("resourceCopies", array(r.resourceCopies()));
        o.addProperty("toolVersion", r.toolVersion());
        return new Gson().toJson(o);
    }

    private static JsonArray array(List<String> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }

    private static Result result(JsonObject o) throws MojoExecutionException {
        if (o.has("refused")) throw new MojoExecutionException("attnc: " + o.get("refused").getAsString());
        List<Error> errors = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("errors")) {
            JsonObject d = e.getAsJsonObject();
            errors.add(new Error(d.get("file").getAsString(), d.get("line").getAsInt(), d.get("column").getAsInt(), d.get("message").getAsString()));
        }
        List<File> changed = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("changed")) changed.add(new File(e.getAsString()));
        return new Result(o.get("patterns").getAsInt(), o.get("written").getAsInt(), o.get("removed").getAsInt(),
                o.get("upToDate").getAsBoolean(), errors, changed);
    }
}
