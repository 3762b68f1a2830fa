// Swift Testing imports from a library target with this toolchain on Linux (and links
// libTesting into whatever depends on the module); the guard keeps the module building where
// it does not.
#if canImport(Testing)
    import KandinskyCalibration
    import Testing

    /// Records an issue at the caller's source location, with the report's text, unless `grouping`
    /// passes ``checkGroupingContract(_:scores:rule:levelCount:seed:)``; returns its report.
    ///
    /// - Complexity: that of the check.
    @discardableResult
    public func expectGroupingContract<G: NonconformityGrouping>(
        _ grouping: G, scores: ScoreStore? = nil,
        rule: QuantileRule = .conformal, levelCount: Int? = nil,
        seed: UInt64 = 0,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> GroupingContractReport {
        let report = checkGroupingContract(grouping, scores: scores, rule: rule, levelCount: levelCount, seed: seed)
        if !report.passed { Issue.record(Comment(rawValue: report.description), sourceLocation: sourceLocation) }
        return report
    }

    /// Records an issue at the caller's source location, with the coverage table, unless the
    /// strategy passes ``checkCoverageContract(_:simulation:rule:z:maximumStandardError:)``;
    /// returns its report.
    ///
    /// - Complexity: that of the check (the simulation's draws × sizes calibrations).
    @discardableResult
    public func expectCoverageContract<G: NonconformityGrouping>(
        _ grouping: G, simulation: CoverageSimulation = CoverageSimulation(),
        rule: QuantileRule = .conformal, z: Double = 3,
        maximumStandardError: Double? = 0.01,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> CoverageContractReport {
        expectCoverageContract(
            simulation: simulation, rule: rule, z: z, maximumStandardError: maximumStandardError,
            sourceLocation: sourceLocation
        ) { _ in grouping }
    }

    /// ``expectCoverageContract(_:simulation:rule:z:maximumStandardError:sourceLocation:)`` with
    /// the strategy of draw d made by `makeGrouping(d)` (a seed per draw).
    @discardableResult
    public func expectCoverageContract<G: NonconformityGrouping>(
        simulation: CoverageSimulation = CoverageSimulation(),
        rule: QuantileRule = .conformal, z: Double = 3,
        maximumStandardError: Double? = 0.01,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ makeGrouping: (UInt64) -> G
    ) -> CoverageContractReport {
        let report = checkCoverageContract(
            simulation: simulation, rule: rule, z: z, maximumStandardError: maximumStandardError,
            makeGrouping)
        if !report.passed { Issue.record(Comment(rawValue: report.description), sourceLocation: sourceLocation) }
        return report
    }
#endif
