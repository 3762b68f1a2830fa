// XCTest imports from a library target with this toolchain on Linux (and links libXCTest into
// whatever depends on the module); the guard keeps the module building where it does not.
#if canImport(XCTest)
    import KandinskyCalibration
    import XCTest

    /// Fails the current XCTest test at the caller's line, with the report's text, unless `grouping`
    /// passes ``checkGroupingContract(_:scores:rule:levelCount:seed:)``; returns its report.
    ///
    /// - Complexity: that of the check.
    ///
    /// ```swift
    /// func testMyGroupingKeepsTheContract() {
    ///     assertGroupingContract(MyGrouping())
    /// }
    /// ```
    @discardableResult
    public func assertGroupingContract<G: NonconformityGrouping>(
        _ grouping: G, scores: ScoreStore? = nil,
        rule: QuantileRule = .conformal, levelCount: Int? = nil,
        seed: UInt64 = 0, file: StaticString = #filePath,
        line: UInt = #line
    ) -> GroupingContractReport {
        let report = checkGroupingContract(grouping, scores: scores, rule: rule, levelCount: levelCount, seed: seed)
        if !report.passed { XCTFail(report.description, file: file, line: line) }
        return report
    }

    /// Fails the current XCTest test at the caller's line, with the coverage table, unless the
    /// strategy passes ``checkCoverageContract(_:simulation:rule:z:maximumStandardError:)``;
    /// returns its report.
    ///
    /// - Complexity: that of the check (the simulation's draws × sizes calibrations).
    @discardableResult
    public func assertCoverageContract<G: NonconformityGrouping>(
        _ grouping: G, simulation: CoverageSimulation = CoverageSimulation(),
        rule: QuantileRule = .conformal, z: Double = 3,
        maximumStandardError: Double? = 0.01,
        file: StaticString = #filePath, line: UInt = #line
    ) -> CoverageContractReport {
        assertCoverageContract(
            simulation: simulation, rule: rule, z: z, maximumStandardError: maximumStandardError,
            file: file, line: line
        ) { _ in grouping }
    }

    /// ``assertCoverageContract(_:simulation:rule:z:maximumStandardError:file:line:)`` with the
    /// strategy of draw d made by `makeGrouping(d)` (a seed per draw).
    @discardableResult
    public func assertCoverageContract<G: NonconformityGrouping>(
        simulation: CoverageSimulation = CoverageSimulation(),
        rule: QuantileRule = .conformal, z: Double = 3,
        maximumStandardError: Double? = 0.01,
        file: StaticString = #filePath, line: UInt = #line,
        _ makeGrouping: (UInt64) -> G
    ) -> CoverageContractReport {
        let report = checkCoverageContract(
            simulation: simulation, rule: rule, z: z, maximumStandardError: maximumStandardError,
            makeGrouping)
        if !report.passed { XCTFail(report.description, file: file, line: line) }
        return report
    }
#endif
