package attnc.bench.gpu;

import attnc.front.Frontend;
import attnc.gpu.Device;
import attnc.gpu.DeviceTensor;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.lower.LowerPattern;
import attnc.pass.Passes;
import attnc.ptx.GpuAttention;
import attnc.ptx.TilePlan;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * On the device: the tile lists that the block-sparsity analysis builds on the host for an
 * index-only mask against the ones the classifier kernel builds by evaluating every element.
 * They must be sound (the host lists every tile the classifier lists, and calls FULL only tiles
 * the classifier calls FULL); equal lists mean the analysis was exact, extra PARTIAL tiles only
 * cost time.
 */
final class TileListCheck {
    private TileListCheck() {}

    static int check(Device device, Path file) throws Exception {
        Pattern pattern;
        try {
            pattern = Passes.optimize(Frontend.compile(file), Map.of());
        } catch (Exception e) {
            return 0;
        }
        if (attnc.ir.ExprTree.readsInputs(pattern.visibility())) return 0;
        int failures = 0;
        // {B, H, Hkv, Nq, Nkv, D, query offset (-1: bottom right)}
        for (int[] c : new int[][] {{2, 4, 2, 1000, 1000, 64, 0}, {1, 4, 1, 300, 2000, 128, -1}}) {
            KernelConfig config = KernelConfig.of(LowerPattern.lower(pattern), KernelConfig.target(device.sm()), DType.BFLOAT16, c[5], c[5]);
            PtxModule module = PtxModule.render(LowerPattern.lower(pattern), config);
            if (!module.classifies()) return 0;
            Problem problem = DeviceCheck.problem(pattern, c, new Random(3));
            Binding binding = Binding.of(pattern, problem);
            GpuAttention gpu = new GpuAttention(device, LowerPattern.lower(pattern), module);
            TilePlan plan = gpu.plan(binding);
            int[] host = plan.analysed(LowerPattern.lower(pattern), config, binding, Map.of());
            List<DeviceTensor> owned = new ArrayList<>();
            try {
                DeviceTensor empty = DeviceTensor.allocate(device, DType.BFLOAT16, 1);
                owned.add(empty);
                DeviceTensor tiles = plan.allocate(device);
                owned.add(tiles);
                gpu.classifyOnDevice(binding, new GpuAttention.Tensors(empty, empty, empty, empty, null, Map.of()), tiles);
                device.synchronize();
                failures += compare(pattern.name() + " " + java.util.Arrays.toString(c), plan, config.listGroups(), host, tiles.readInts());
            } finally {
                for (DeviceTensor t : owned) t.close();
            }
        }
        return failures;
    }

    /**
     * With {@code groups}, each warpgroup's bits too: the host may call a tile hidden from a
     * warpgroup, or full for it, only where the classifier does.
     */
    private static int compare(String label, TilePlan plan, int groups, int[] host, int[] device) {
        int rows = plan.slots() * plan.queryBlocks(), width = plan.kvTiles() + 1, exactRows = 0, extra = 0;
        for (int row = 0; row < rows; row++) {
            Integer[] mine = classes(host, row * width, plan.kvTiles()), truth = classes(device, row * width, plan.kvTiles());
            boolean exact = true;
            for (int tile = 0; tile < plan.kvTiles(); tile++) {
                boolean missed = truth[tile] != null && mine[tile] == null;
                boolean falseFull = mine[tile] != null && (mine[tile] & PtxModule.FULL_BIT) != 0 && (truth[tile] == null || (truth[tile] & PtxModule.FULL_BIT) == 0);
                for (int w = 0; w < groups && mine[tile] != null && truth[tile] != null; w++) {
                    falseFull |= (mine[tile] & PtxModule.groupFull(w)) != 0 && (truth[tile] & PtxModule.groupFull(w)) == 0;
                    missed |= (mine[tile] & PtxModule.groupHidden(w)) != 0 && (truth[tile] & PtxModule.groupHidden(w)) == 0;
                }
                if (missed || falseFull) {
                    System.out.printf("FAIL tile lists %s: row %d tile %d: classifier %s, analysis %s%n", label, row, tile, name(truth[tile]), name(mine[tile]));
                    return 1;
                }
                if (truth[tile] == null && mine[tile] != null) extra++;
                exact &= java.util.Objects.equals(mine[tile], truth[tile]);
            }
            if (exact) exactRows++;
        }
        System.out.printf("ok   tile lists %-16s %s: sound; %d/%d rows equal to the classifier's, %d extra PARTIAL tiles%n", label.split(" ")[0],
                label.substring(label.indexOf(' ') + 1), exactRows, rows, extra);
        return 0;
    }

    /** Per kv tile of one list row: null when absent, else its entry's bits above the tile index. */
    private static Integer[] classes(int[] lists, int base, int kvTiles) {
        Integer[] classes = new Integer[kvTiles];
        for (int i = 0; i < lists[base]; i++) classes[lists[base + 1 + i] & PtxModule.TILE_MASK] = lists[base + 1 + i] & ~PtxModule.TILE_MASK;
        return classes;
    }

    private static String name(Integer c) {
        return c == null ? "absent" : ((c & PtxModule.FULL_BIT) != 0 ? "FULL" : "PARTIAL") + String.format(" (bits %08x)", c);
    }
}
