package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code export --arch}: only the named architectures' modules are written, and the manifest describes only those. */
class ExportCommandTest {

    @Test
    void archChoosesTheModulesAndTheManifestSaysWhich(@TempDir Path dir) throws Exception {
        String causal = Cli.EXAMPLES.resolve("causal.attn").toString();
        Cli cli = Cli.run("export", causal, "--target", "ptx", "--arch", "sm_90a", "-o", dir.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        List<String> ptx;
        try (Stream<Path> files = Files.list(dir)) {
            ptx = files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".ptx")).sorted().toList();
        }
        assertEquals(List.of("causal_backward_sm_90.ptx", "causal_backward_sm_90_d128.ptx", "causal_backward_sm_90a_d128.ptx", "causal_sm_90a.ptx",
                "causal_sm_90a_d128.ptx"), ptx);
        JsonObject kernel = JsonParser.parseString(Files.readString(dir.resolve("causal.manifest.json"))).getAsJsonObject().getAsJsonObject("kernel");
        kernel.getAsJsonArray("variants").forEach(v -> assertTrue(v.getAsJsonObject().get("arch").getAsString().startsWith("sm_90"), v.toString()));
        kernel.getAsJsonObject("backward").getAsJsonArray("variants")
                .forEach(v -> assertTrue(v.getAsJsonObject().get("arch").getAsString().startsWith("sm_90"), v.toString()));

        Path both = dir.resolve("both");
        assertEquals(0, Cli.run("export", causal, "--target", "ptx", "-o", both.toString()).exitCode());
        try (Stream<Path> files = Files.list(both)) {
            assertEquals(9, files.filter(f -> f.toString().endsWith(".ptx")).count(),
                    "by default sm_80 and sm_90a, forward and backward (mma.sync, and wgmma at D = 128 on sm_90a), D = 64 and 128");
        }
    }
}
