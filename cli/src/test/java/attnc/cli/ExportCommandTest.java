package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code export --arch}: only the named architectures' modules are written (forward, backward, decode, ragged), and the manifest describes only those. */
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
        List<String> decode = new ArrayList<>();
        for (String mode : List.of("", "_packed", "_packed_paged", "_paged")) {
            for (String warps : List.of("", "_warpkeys")) {
                decode.addAll(List.of("causal_decode" + mode + warps + "_sm_90.ptx", "causal_decode" + mode + warps + "_sm_90_d128.ptx"));
            }
        }
        List<String> expected = new ArrayList<>(List.of("causal_backward_sm_90.ptx", "causal_backward_sm_90_d128.ptx", "causal_backward_sm_90a.ptx",
                "causal_backward_sm_90a_d128.ptx"));
        expected.addAll(decode);
        expected.addAll(List.of("causal_sm_90a.ptx", "causal_sm_90a_d128.ptx", "causal_ragged_sm_90a.ptx", "causal_ragged_sm_90a_d128.ptx"));
        assertEquals(expected.stream().sorted().toList(), ptx);
        JsonObject kernel = JsonParser.parseString(Files.readString(dir.resolve("causal.manifest.json"))).getAsJsonObject().getAsJsonObject("kernel");
        for (JsonObject section : List.of(kernel, kernel.getAsJsonObject("backward"), kernel.getAsJsonObject("decode"), kernel.getAsJsonObject("ragged"))) {
            section.getAsJsonArray("variants").forEach(v -> assertTrue(v.getAsJsonObject().get("arch").getAsString().startsWith("sm_90"), v.toString()));
        }
        List<String> described = new ArrayList<>();
        kernel.getAsJsonObject("decode").getAsJsonArray("variants").forEach(v -> described.add(v.getAsJsonObject().get("file").getAsString()));
        assertEquals(decode.stream().sorted().toList(), described.stream().sorted().toList(), "the manifest describes each decode module written");
        JsonObject entries = kernel.getAsJsonObject("decode").getAsJsonObject("entries");
        assertEquals(List.of("split", "split_packed", "split_paged", "split_packed_paged", "merge"), List.copyOf(entries.keySet()));
        assertTrue(kernel.getAsJsonObject("decode").getAsJsonObject("paged").get("block_table").getAsString().startsWith("int32 [B, max_pages]"));

        Path both = dir.resolve("both");
        assertEquals(0, Cli.run("export", causal, "--target", "ptx", "-o", both.toString()).exitCode());
        try (Stream<Path> files = Files.list(both)) {
            assertEquals(46, files.filter(f -> f.toString().endsWith(".ptx")).count(),
                    "by default sm_80 and sm_90a, forward and backward (mma.sync, and wgmma on sm_90a), D = 64 and 128, the four decode modes"
                    + " with and without warp keys, and the ragged prefill");
        }
    }
}
