package attnc.jvm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine a tuned configuration was timed on: CPU model and core count. */
final class CpuName {
    private CpuName() {}

    static String describe() {
        return model() + "/" + Runtime.getRuntime().availableProcessors() + "cpu";
    }

    /** The first "model name" of /proc/cpuinfo (Linux); else the architecture. */
    private static String model() {
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .filter(s -> !s.isEmpty()).findFirst().orElse(System.getProperty("os.arch"));
        } catch (IOException | java.io.UncheckedIOException e) {
            return System.getProperty("os.arch");
        }
    }
}
