package attnc.run;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * One point of a backend's tuning space: named integer knobs (tile sizes, vector width,
 * unrolling, threads; on the GPU BLOCK_M, BLOCK_N, warps, stages). Knob order does not matter.
 */
public record TuningConfig(Map<String, Integer> knobs) {
    public TuningConfig {
        knobs = Map.copyOf(knobs);
    }

    public int get(String knob, int otherwise) {
        return knobs.getOrDefault(knob, otherwise);
    }

    /** {@code kv=128,q=64}: knobs sorted by name, the form the tuning cache stores. */
    @Override
    public String toString() {
        return new TreeMap<>(knobs).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    }

    public static TuningConfig parse(String text) {
        Map<String, Integer> knobs = new TreeMap<>();
        if (!text.isBlank()) {
            for (String part : text.split(",")) {
                String[] kv = part.split("=", 2);
                if (kv.length != 2 || !kv[1].trim().matches("-?\\d{1,9}")) {
                    throw new IllegalArgumentException("bad tuning config '" + text + "'; expected name=integer,...");
                }
                knobs.put(kv[0].trim(), Integer.parseInt(kv[1].trim()));
            }
        }
        return new TuningConfig(knobs);
    }
}
