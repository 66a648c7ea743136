package attnc.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TuningCacheTest {
    @TempDir Path dir;
    private final List<String> warnings = new ArrayList<>();

    private TuningCache cache() {
        return new TuningCache(dir.resolve("tuning.json"), warnings::add);
    }

    private static TuningCache.Entry entry(String config, double millis) {
        return new TuningCache.Entry("p", "s", "jvm", "dev", config, millis, 2 * millis, "2026-11-25T12:00:00Z");
    }

    @Test
    void storesAndReadsBack() throws Exception {
        cache().put("k1", entry("kv=128,q=64", 1.5));
        TuningCache.Entry back = cache().current().get("k1");
        assertEquals("kv=128,q=64", back.config());
        assertEquals(1.5, back.millis());
        assertEquals(List.of(), warnings);
    }

    @Test
    void corruptFileIsIgnoredWithAWarning() throws Exception {
        Files.writeString(dir.resolve("tuning.json"), "{ this is not json");
        assertEquals(0, cache().current().size());
        assertEquals(1, warnings.size());
        assertEquals("tuning cache " + dir.resolve("tuning.json") + " is not valid JSON (at line 1 column 9); ignoring it", warnings.getFirst());
    }

    @Test
    void warningsNameNoJavaExceptions() throws Exception {
        for (String text : List.of("{\"version\": 1, \"entries\": {", "{\"version\": \"one\", \"entries\": {}}",
                "{\"version\": 1, \"entries\": {\"a\": {\"config\": \"q=x\", \"millis\": 1.0}, \"b\": [1, 2]}}")) {
            warnings.clear();
            Files.writeString(dir.resolve("tuning.json"), text);
            assertEquals(0, cache().current().size(), text);
            assertFalse(warnings.isEmpty(), text);
            for (String w : warnings) {
                assertFalse(w.contains("Exception") || w.contains("For input string") || w.contains("java."), w);
            }
        }
    }

    @Test
    void corruptEntriesAreDroppedOthersKept() throws Exception {
        Files.writeString(dir.resolve("tuning.json"), """
                {"version": 1, "entries": {
                  "good": {"pattern": "p", "shape": "s", "backend": "jvm", "device": "d", "config": "q=64", "millis": 1.0, "defaultMillis": 2.0, "when": "x"},
                  "noTime": {"pattern": "p", "config": "q=64"},
                  "badConfig": {"pattern": "p", "config": "q=sixty", "millis": 1.0},
                  "notAnObject": 42
                }}""");
        assertEquals(List.of("good"), List.copyOf(cache().current().keySet()));
        assertEquals(3, warnings.size(), warnings.toString());
    }

    @Test
    void otherVersionIsIgnored() throws Exception {
        Files.writeString(dir.resolve("tuning.json"), "{\"version\": 99, \"entries\": {}}");
        assertEquals(0, cache().current().size());
        assertTrue(warnings.getFirst().contains("version"), warnings.toString());
    }

    @Test
    void concurrentWritersLoseNothing() throws Exception {
        int writers = 8;
        int each = 10;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        List<Future<?>> done = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            done.add(pool.submit(() -> {
                TuningCache mine = cache();
                for (int i = 0; i < each; i++) mine.put("w" + writer + "-" + i, entry("q=" + (16 << (i % 4)), 1 + i));
                return null;
            }));
        }
        for (Future<?> f : done) f.get();
        pool.shutdown();
        assertEquals(writers * each, cache().current().size());
        assertEquals(List.of(), warnings);
    }
}
