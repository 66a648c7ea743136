package attnc.lower;

import attnc.grad.Section;
import attnc.ir.Index;
import java.util.List;
import java.util.Set;

/**
 * A pattern's backward as kernels read it: the forward's {@link LoweredPattern}, d score/d s,
 * d output/d o, and for every float load site the program of its partial derivative and the
 * program of the element offset it reads, where the kernel adds upstream × partial. Built once by
 * {@link LowerBackward} from the derivative pass's expressions ({@link attnc.grad}).
 *
 * @param scoreByS  d score/d s, over (b, h, q, kv) with s bound
 * @param outputByO d output/d o, over (b, h, q, d) with o bound
 */
public record LoweredBackward(LoweredPattern forward, Program scoreByS, Program outputByO, List<Site> sites) {

    public LoweredBackward {
        sites = List.copyOf(sites);
    }

    /**
     * One float load site: its section, the input it reads, the clamped element offset it reads
     * (an int program over the section's indices) and the partial derivative there (a float
     * program); a kernel sums upstream × partial over {@code summedOver} before it adds.
     */
    public record Site(Section section, String input, Program offset, Program partial, Set<Index> summedOver) {}

    /** The same backward with these launch sizes fixed as constants ({@link BindSizes}). */
    public LoweredBackward withSizes(java.util.Map<String, Integer> sizes) {
        return new LoweredBackward(forward.withSizes(sizes), BindSizes.bind(scoreByS, sizes), BindSizes.bind(outputByO, sizes), sharedBySection(
                sites.stream().map(s -> new Site(s.section(), s.input(), BindSizes.bind(s.offset(), sizes), BindSizes.bind(s.partial(), sizes), s.summedOver())).toList()));
    }

    /**
     * The sites with the offset and partial programs of each section on one instruction list
     * ({@link ShareSubexpressions#acrossPrograms}): a kernel evaluates a section's sites at the
     * same points, so a renderer that evaluates them together computes what they share once.
     */
    static List<Site> sharedBySection(List<Site> sites) {
        Site[] shared = new Site[sites.size()];
        for (Section section : Section.values()) {
            List<Integer> in = new java.util.ArrayList<>();
            List<Program> programs = new java.util.ArrayList<>();
            for (int i = 0; i < sites.size(); i++) {
                if (sites.get(i).section() != section) continue;
                in.add(i);
                programs.add(sites.get(i).offset());
                programs.add(sites.get(i).partial());
            }
            List<Program> joined = ShareSubexpressions.acrossPrograms(programs);
            for (int k = 0; k < in.size(); k++) {
                Site site = sites.get(in.get(k));
                shared[in.get(k)] = new Site(site.section(), site.input(), joined.get(2 * k), joined.get(2 * k + 1), site.summedOver());
            }
        }
        return List.of(shared);
    }

    /**
     * The same backward giving gradients to {@code inputs} only: the other inputs' sites dropped,
     * so a kernel neither computes nor reduces what nobody asked for (ALiBi's slopes, held fixed).
     */
    public LoweredBackward only(java.util.Collection<String> inputs) {
        return new LoweredBackward(forward, scoreByS, outputByO, sites.stream().filter(s -> inputs.contains(s.input())).toList());
    }

    public List<Site> sites(Section section) {
        return sites.stream().filter(s -> s.section() == section).toList();
    }

    /** The float inputs that get a gradient, in the order their first site appears. */
    public List<String> inputs() {
        return sites.stream().map(Site::input).distinct().toList();
    }
}
