package attnc.tune;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.run.Sha256;
import attnc.run.TuningConfig;
import attnc.run.TuningLookup;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The persistent tuning cache: one JSON file ({@code tuning.json} in {@code $ATTNC_CACHE_DIR},
 * else {@code $XDG_CACHE_HOME/attnc}, else {@code ~/.cache/attnc}), keyed by the pattern's hash,
 * the shape class, the dtype, the backend and the device. A corrupt file or entry is ignored
 * with a warning on stderr, never a crash. Writers take a lock file and replace the cache
 * atomically after merging with what is on disk, so concurrent tuners lose nothing and readers
 * never see half a file.
 */
public final class TuningCache implements TuningLookup {
    static final int VERSION = 1;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /** A tuned result: the configuration and what it and the default measured, in milliseconds. */
    public record Entry(String pattern, String shape, String backend, String device, String config,
                        double millis, double defaultMillis, String when) {}

    private final Path file;
    private final Consumer<String> warn;
    private Map<String, Entry> entries = Map.of();
    private FileTime loadedAt;
    private final Map<Pattern, String> hashes = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

    /** The user's cache; used by kernels through {@link java.util.ServiceLoader}. */
    public TuningCache() {
        this(defaultLocation(), message -> System.err.println("attnc: warning: " + message));
    }

    public TuningCache(Path file, Consumer<String> warn) {
        this.file = file;
        this.warn = warn;
    }

    public static Path defaultLocation() {
        String explicit = System.getenv("ATTNC_CACHE_DIR");
        if (explicit != null && !explicit.isBlank()) return Path.of(explicit, "tuning.json");
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("attnc").resolve("tuning.json");
    }

    public Path file() { return file; }

    public static String key(String patternHash, String shape, String dtype, String backend, String device) {
        return String.join("|", patternHash, shape, dtype, backend, device);
    }

    public String key(Pattern pattern, Binding binding, DType dtype, String backend, String device) {
        return key(patternHash(pattern), ShapeClass.of(binding).toString(), dtype.spelling(), backend, device);
    }

    public String patternHash(Pattern pattern) {
        return hashes.computeIfAbsent(pattern, p -> Sha256.of(p).substring(0, 16));
    }

    @Override
    public Optional<TuningConfig> lookup(Pattern pattern, Binding binding, DType dtype, String backend, String device) {
        return entry(pattern, binding, dtype.spelling(), backend, device).flatMap(e -> {
            try {
                return Optional.of(TuningConfig.parse(e.config()));
            } catch (RuntimeException bad) {
                warn.accept("ignoring tuning entry with unreadable config '" + e.config() + "' in " + file);
                return Optional.empty();
            }
        });
    }

    public Optional<Entry> entry(Pattern pattern, Binding binding, String dtype, String backend, String device) {
        return Optional.ofNullable(current().get(key(patternHash(pattern), ShapeClass.of(binding).toString(), dtype, backend, device)));
    }

    /** Every valid entry on disk now. */
    public synchronized Map<String, Entry> current() {
        try {
            FileTime modified = Files.isRegularFile(file) ? Files.getLastModifiedTime(file) : null;
            if (modified == null) {
                entries = Map.of();
            } else if (!modified.equals(loadedAt)) {
                entries = read(Files.readString(file, StandardCharsets.UTF_8));
            }
            loadedAt = modified;
        } catch (IOException e) {
            warn.accept("cannot read tuning cache " + file + ": " + e.getMessage() + "; tuning ignored");
            entries = Map.of();
        }
        return entries;
    }

    /** Adds or replaces one entry, merged with concurrent writers' entries under a file lock. */
    public synchronized void put(String key, Entry entry) throws IOException {
        Files.createDirectories(file.getParent());
        Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
        // A file lock excludes other processes only; threads of this JVM queue on the monitor.
        synchronized (TuningCache.class) {
            writeLocked(lockFile, key, entry);
        }
        loadedAt = null;
    }

    private void writeLocked(Path lockFile, String key, Entry entry) throws IOException {
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = channel.lock()) {
            Map<String, Entry> merged = new LinkedHashMap<>(
                    Files.isRegularFile(file) ? read(Files.readString(file, StandardCharsets.UTF_8)) : Map.of());
            merged.put(key, entry);
            JsonObject root = new JsonObject();
            root.addProperty("version", VERSION);
            root.add("entries", GSON.toJsonTree(merged));
            Path temp = Files.createTempFile(file.getParent(), "tuning", ".tmp");
            Files.writeString(temp, GSON.toJson(root), StandardCharsets.UTF_8);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** " (at line L column C)" from a JSON parser's message, without its exception names. */
    private static String where(RuntimeException e) {
        var m = java.util.regex.Pattern.compile("line \\d+ column \\d+").matcher(String.valueOf(e.getMessage()));
        return m.find() ? " (at " + m.group() + ")" : "";
    }

    /** A message without the "java.io.EOFException: " prefixes parsers wrap their causes in. */
    private static String plain(RuntimeException e) {
        return String.valueOf(e.getMessage()).replaceAll("(?:[a-z]+\\.)+[A-Z][A-Za-z]*(?:Exception|Error): ", "");
    }

    private Map<String, Entry> read(String text) {
        Map<String, Entry> valid = new LinkedHashMap<>();
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(text);
        } catch (RuntimeException e) {
            warn.accept("tuning cache " + file + " is not valid JSON" + where(e) + "; ignoring it");
            return valid;
        }
        if (!parsed.isJsonObject() || !parsed.getAsJsonObject().has("entries")
                || !parsed.getAsJsonObject().get("entries").isJsonObject()) {
            warn.accept("tuning cache " + file + " has no entries object; ignoring it");
            return valid;
        }
        JsonElement version = parsed.getAsJsonObject().get("version");
        if (version == null || !version.isJsonPrimitive() || !String.valueOf(VERSION).equals(version.getAsString())) {
            warn.accept("tuning cache " + file + " has another version (" + version + "); ignoring it");
            return valid;
        }
        for (var e : parsed.getAsJsonObject().getAsJsonObject("entries").entrySet()) {
            try {
                Entry entry = GSON.fromJson(e.getValue(), Entry.class);
                if (entry == null || entry.config() == null || !(entry.millis() > 0)) throw new IllegalArgumentException("incomplete");
                TuningConfig.parse(entry.config());
                valid.put(e.getKey(), entry);
            } catch (RuntimeException bad) {
                warn.accept("ignoring corrupt tuning entry '" + e.getKey() + "' in " + file + " (" + plain(bad) + ")");
            }
        }
        return valid;
    }
}
