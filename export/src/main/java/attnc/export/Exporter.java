package attnc.export;

import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.pass.Passes;
import attnc.run.Attnc;
import attnc.run.Backend;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * {@code attnc export}: writes a pattern's kernel in one of several forms, with a JSON manifest
 * describing it (pattern, source hash, params, inputs and shape constraints, and the backend's
 * own description of the kernel: entry point, argument ABI, tile sizes, launch grid rule, which a
 * backend puts in the {@code kernel.json} it exports). The torch target puts that manifest, the PTX
 * and a Python runtime into one package folder ({@link TorchPackage}).
 */
public final class Exporter {
    public enum Target { PTX, CUBIN, CLASSES, JAR, JAVA, TORCH }

    /** What was written, for the command to list. */
    public record Written(List<Path> files, List<String> notes) {}

    private static final String KERNEL_DESCRIPTION = "kernel.json";
    /** The time of every entry of an exported jar (the zip format's earliest), so exports are reproducible. */
    private static final java.time.LocalDateTime JAR_TIME = java.time.LocalDateTime.of(1980, 1, 1, 0, 0, 0);

    private Exporter() {}

    public static Written export(Pattern pattern, String sourceSha256, Target target, Path out) throws IOException {
        return export(pattern, sourceSha256, target, List.of(), out);
    }

    /**
     * As above for the named GPU architectures only ({@code sm_80}, {@code sm_90a}; all when
     * empty), which only the ptx and cubin targets have; names are checked before anything is written.
     */
    public static Written export(Pattern pattern, String sourceSha256, Target target, List<String> architectures, Path out) throws IOException {
        if (!architectures.isEmpty() && target != Target.PTX && target != Target.CUBIN) {
            throw new IllegalArgumentException("--arch chooses GPU modules for --target ptx or cubin; the " + target.name().toLowerCase(java.util.Locale.ROOT)
                    + " target has none to choose");
        }
        Map<String, byte[]> gpuModules = target == Target.PTX || target == Target.CUBIN ? artifacts("ptx", pattern, architectures) : null;
        Files.createDirectories(out);
        List<Path> files = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        JsonObject kernel = new JsonObject();
        switch (target) {
            case JAVA -> {
                var javaFile = WrapperGenerator.generate(pattern, "attnc.generated", pattern.name() + ".attn", sourceSha256);
                javaFile.writeTo(out);
                files.add(out.resolve("attnc/generated/" + javaFile.typeSpec().name() + ".java"));
                kernel.addProperty("wrapper", "attnc.generated." + javaFile.typeSpec().name());
            }
            case PTX, CUBIN -> {
                kernel = description(gpuModules);
                for (var a : gpuModules.entrySet()) {
                    if (a.getKey().equals(KERNEL_DESCRIPTION)) continue;
                    Path written = write(out, a.getKey(), a.getValue());
                    if (target == Target.PTX) {
                        files.add(written);
                    } else {
                        files.addAll(assemble(written, architectures, notes));
                        Files.delete(written);
                    }
                }
            }
            case TORCH -> {
                // The manifest goes inside the package (one folder, see TorchPackage), not beside it.
                Map<String, byte[]> kernels = new java.util.TreeMap<>(artifacts("ptx", pattern));
                JsonObject manifest = manifest(pattern, sourceSha256, target, description(kernels));
                kernels.remove(KERNEL_DESCRIPTION);
                files.addAll(TorchPackage.write(pattern, sourceSha256, manifest, kernels, out));
                notes.add("a Python package needing only torch: with " + out.toAbsolutePath() + " on sys.path (PYTHONPATH), import "
                        + TorchPackage.packageName(pattern.name()));
                return new Written(files, notes);
            }
            case CLASSES, JAR -> {
                Map<String, byte[]> artifacts = artifacts("jvm", pattern);
                kernel = description(artifacts);
                if (target == Target.CLASSES) {
                    for (var a : artifacts.entrySet()) if (!a.getKey().equals(KERNEL_DESCRIPTION)) files.add(write(out, a.getKey(), a.getValue()));
                } else {
                    files.add(jar(out.resolve(pattern.name() + ".jar"), artifacts));
                }
            }
        }
        JsonObject manifest = manifest(pattern, sourceSha256, target, kernel);
        Path manifestFile = out.resolve(pattern.name() + ".manifest.json");
        Files.writeString(manifestFile, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(manifest));
        files.add(manifestFile);
        return new Written(files, notes);
    }

    private static Map<String, byte[]> artifacts(String backendName, Pattern pattern) {
        return artifacts(backendName, pattern, List.of());
    }

    private static Map<String, byte[]> artifacts(String backendName, Pattern pattern, List<String> architectures) {
        Backend backend = Backend.named(backendName).orElseThrow(() -> Attnc.unknownBackend(backendName));
        Map<String, byte[]> artifacts = backend.export(Passes.optimize(pattern, Map.of()), architectures);
        if (artifacts.isEmpty()) throw new IllegalArgumentException("the " + backendName + " backend cannot export kernels yet");
        return artifacts;
    }

    private static JsonObject description(Map<String, byte[]> artifacts) {
        byte[] json = artifacts.get(KERNEL_DESCRIPTION);
        if (json == null) return new JsonObject();
        JsonElement parsed = JsonParser.parseString(new String(json, StandardCharsets.UTF_8));
        return parsed.isJsonObject() ? parsed.getAsJsonObject() : new JsonObject();
    }

    private static Path write(Path out, String relative, byte[] bytes) throws IOException {
        Path target = out.resolve(relative);
        Files.createDirectories(target.getParent());
        Files.write(target, bytes);
        return target;
    }

    /**
     * cubin per architecture the PTX allows (an sm_80 module also for sm_90, unless {@code
     * architectures} leaves Hopper out), through ptxas; says so when ptxas is missing.
     */
    private static List<Path> assemble(Path ptx, List<String> architectures, List<String> notes) throws IOException {
        List<Path> cubins = new ArrayList<>();
        String ptxas = findPtxas();
        if (ptxas == null) {
            String note = "ptxas not found (looked in $CUDA_HOME/bin, /usr/local/cuda/bin, /usr/local/bin and PATH): no cubin written; export --target ptx and "
                    + "assemble on the target machine";
            if (!notes.contains(note)) notes.add(note);
            return cubins;
        }
        // A module for sm_80 runs natively on sm_80 and sm_90; one for sm_90 (vector reductions) or sm_90a (wgmma) only there.
        String text = Files.readString(ptx);
        List<String> archs = text.contains(".target sm_90a") ? List.of("sm_90a") : text.contains(".target sm_90") ? List.of("sm_90") : List.of("sm_80", "sm_90");
        boolean hopper = architectures.isEmpty() || architectures.stream().anyMatch(a -> a.trim().toLowerCase(java.util.Locale.ROOT).startsWith("sm_90"));
        for (String arch : archs) {
            if (arch.equals("sm_90") && archs.size() > 1 && !hopper) continue;
            Path cubin = ptx.resolveSibling(ptx.getFileName().toString().replace(".ptx", "") + "." + arch + ".cubin");
            Process p = new ProcessBuilder(ptxas, "-arch=" + arch, ptx.toString(), "-o", cubin.toString()).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            try {
                if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("ptxas failed for " + arch + ": " + log);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running ptxas", e);
            }
            cubins.add(cubin);
        }
        String note = "assembled with " + ptxas;
        if (!notes.contains(note)) notes.add(note);
        return cubins;
    }

    static String findPtxas() {
        List<Path> candidates = new ArrayList<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null) candidates.add(Path.of(cudaHome, "bin", "ptxas"));
        candidates.add(Path.of("/usr/local/cuda/bin/ptxas"));
        candidates.add(Path.of("/usr/local/bin/ptxas"));
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty()) candidates.add(Path.of(dir, "ptxas"));
        }
        return candidates.stream().filter(Files::isExecutable).findFirst().map(Path::toString).orElse(null);
    }

    /** A jar whose bytes depend only on its content: entries sorted, each with one fixed time. */
    private static Path jar(Path target, Map<String, byte[]> artifacts) throws IOException {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Created-By", "attnc");
        try (OutputStream file = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(file)) {
            jar.putNextEntry(entry(JarFile.MANIFEST_NAME));
            manifest.write(jar);
            jar.closeEntry();
            for (var a : new java.util.TreeMap<>(artifacts).entrySet()) {
                jar.putNextEntry(entry(a.getKey()));
                jar.write(a.getValue());
                jar.closeEntry();
            }
        }
        return target;
    }

    private static JarEntry entry(String name) {
        JarEntry entry = new JarEntry(name);
        entry.setTimeLocal(JAR_TIME);
        return entry;
    }

    private static JsonObject manifest(Pattern pattern, String sourceSha256, Target target, JsonObject kernel) {
        JsonObject m = new JsonObject();
        m.addProperty("pattern", pattern.name());
        m.addProperty("sourceSha256", sourceSha256);
        m.addProperty("target", target.name().toLowerCase());
        m.addProperty("printedPattern", Printer.pattern(pattern));
        JsonArray params = new JsonArray();
        for (Param p : pattern.params()) {
            JsonObject o = new JsonObject();
            o.addProperty("name", p.name());
            o.addProperty("type", p.type().spelling());
            p.defaultValue().ifPresent(v -> o.addProperty("default", Printer.expr(v)));
            params.add(o);
        }
        m.add("params", params);
        JsonArray inputs = new JsonArray();
        for (Input i : pattern.inputs()) {
            JsonObject o = new JsonObject();
            o.addProperty("name", i.name());
            o.addProperty("dtype", i.dtype().spelling());
            JsonArray shape = new JsonArray();
            i.shape().forEach(d -> shape.add(Printer.expr(d)));
            o.add("shape", shape);
            inputs.add(o);
        }
        m.add("inputs", inputs);
        JsonObject constraints = new JsonObject();
        constraints.addProperty("q", "[B, H, Nq, D]");
        constraints.addProperty("k", "[B, Hkv, Nkv, D]");
        constraints.addProperty("v", "[B, Hkv, Nkv, Dv]");
        constraints.addProperty("heads", "H % Hkv == 0");
        m.add("shapes", constraints);
        m.add("kernel", kernel);
        return m;
    }
}
